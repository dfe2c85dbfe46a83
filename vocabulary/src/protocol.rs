//! What this program's processes say to each other, line by line, on their standard input and
//! output: every boundary between a parent and a child it starts on pipes goes through here
//! (the workers of a run talk to their coordinator over HTTP instead, so pods can too: the
//! load runner's `coordinate::protocol`).
//!
//! - A child's configuration: the parent writes the child's typed arguments whole as the first
//!   line of the child's input (one JSON document), instead of a command line of flags; the
//!   child reads them back into the same type ([`send_config`], [`receive_config`]).
//! - A service's announcement: a `serve` process prints one line per service it runs once it
//!   listens, `<service> <url>` ([`Announcement`]); people read the same lines.

use crate::service::{Service, UnknownService};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::io::{BufRead, Write};
use std::str::FromStr;

/// A line that could not be read or was not what the protocol expects there.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("the other process closed its end before saying {expected}")]
    Closed { expected: &'static str },
    #[error("reading or writing a line between processes: {0}")]
    Io(#[from] std::io::Error),
    #[error("expected {expected}, got {got:?}")]
    Unexpected { expected: &'static str, got: String },
    #[error("a child's configuration: {0}")]
    Config(#[from] serde_json::Error),
    #[error(transparent)]
    Service(#[from] UnknownService),
}

/// Writes a child's configuration as one line of its input.
pub fn send_config<T: Serialize>(input: &mut impl Write, config: &T) -> Result<(), ProtocolError> {
    serde_json::to_writer(&mut *input, config)?;
    input.write_all(b"\n")?;
    input.flush()?;
    Ok(())
}

/// Reads the configuration its parent sent (the first line of this process's input).
pub fn receive_config<T: DeserializeOwned>(input: &mut impl BufRead) -> Result<T, ProtocolError> {
    let line = read_raw(input, "its configuration")?;
    Ok(serde_json::from_str(&line)?)
}

/// Writes one protocol line and flushes it (the other side waits for it).
pub fn write_line(output: &mut impl Write, line: &impl fmt::Display) -> Result<(), ProtocolError> {
    writeln!(output, "{line}")?;
    output.flush()?;
    Ok(())
}

/// Reads one protocol line.
pub fn read_line<L>(input: &mut impl BufRead) -> Result<L, ProtocolError>
where
    L: FromStr<Err = ProtocolError> + Expected,
{
    read_raw(input, L::EXPECTED)?.parse()
}

/// What a line type is called in an error about it.
pub trait Expected {
    const EXPECTED: &'static str;
}

fn read_raw(input: &mut impl BufRead, expected: &'static str) -> Result<String, ProtocolError> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Err(ProtocolError::Closed { expected });
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `<service> <url>`: a service listens at this base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub service: Service,
    pub url: String,
}

impl Expected for Announcement {
    const EXPECTED: &'static str = "`<service> <url>`";
}

impl fmt::Display for Announcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.service, self.url)
    }
}

impl FromStr for Announcement {
    type Err = ProtocolError;

    fn from_str(line: &str) -> Result<Announcement, ProtocolError> {
        let unexpected = || ProtocolError::Unexpected {
            expected: Announcement::EXPECTED,
            got: line.to_owned(),
        };
        let (service, url) = line.split_once(' ').ok_or_else(unexpected)?;
        if url.is_empty() || url.contains(char::is_whitespace) {
            return Err(unexpected());
        }
        Ok(Announcement {
            service: service.parse()?,
            url: url.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Config {
        name: String,
        every: std::time::Duration,
        secret: Option<String>,
    }

    #[test]
    fn a_configuration_and_the_lines_after_it_read_back_in_order() {
        let config = Config {
            name: "with spaces\nand a newline".into(),
            every: std::time::Duration::from_millis(1500),
            secret: Some("s3cret".into()),
        };
        let mut wire = Vec::new();
        send_config(&mut wire, &config).expect("send");
        let line = Announcement {
            service: Service::Idp,
            url: "http://127.0.0.2:1".into(),
        };
        write_line(&mut wire, &line).expect("an announcement");
        assert_eq!(wire.iter().filter(|byte| **byte == b'\n').count(), 2);
        let mut input = Cursor::new(wire);
        assert_eq!(
            receive_config::<Config>(&mut input).expect("config"),
            config
        );
        assert_eq!(
            read_line::<Announcement>(&mut input).expect("the announcement"),
            line
        );
        assert!(matches!(
            read_line::<Announcement>(&mut input),
            Err(ProtocolError::Closed { .. })
        ));
    }

    #[test]
    fn announcements_read_back_and_refuse_what_is_not_one() {
        for service in Service::ALL {
            let line = Announcement {
                service,
                url: "https://127.0.0.2:9011".into(),
            };
            let mut wire = Vec::new();
            write_line(&mut wire, &line).expect("write");
            assert_eq!(
                String::from_utf8(wire.clone()).expect("utf-8"),
                format!("{} https://127.0.0.2:9011\n", service.name())
            );
            assert_eq!(
                read_line::<Announcement>(&mut Cursor::new(wire)).expect("read"),
                line
            );
        }
        for bad in [
            "store",
            "store ",
            "cache http://x",
            "store http://x extra",
            "",
        ] {
            assert!(bad.parse::<Announcement>().is_err(), "{bad:?}");
        }
        assert!(matches!(
            "web http://x".parse::<Announcement>(),
            Err(ProtocolError::Service(_))
        ));
    }
}
