//! The accounts a run's users log in as: the mock IdP's generated users
//! (`user1@example.com` … `user<N>@example.com`, one password, N from `--accounts`), or a
//! `--users-file` of `username,password` lines (CSV, header optional), taken in turn.

use std::path::Path;
use std::sync::Arc;

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub password: String,
}

/// The accounts users log in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    /// The mock IdP's seeded users (`count` of them), all with `password`.
    Generated { password: String, count: u64 },
    /// A list read from a file.
    Listed(Arc<[Account]>),
}

/// How many users the mock IdP seeds by default (`serve --users`).
pub const GENERATED: u64 = 10_000;

impl Accounts {
    /// Reads a `--users-file`: CSV `username,password` per line, an optional header
    /// `username,password`, quoted fields as CSV has them. An empty file, a line without both
    /// fields or with an empty one is refused, naming the line.
    pub fn read(path: &Path) -> Result<Accounts, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path).map_err(|error| format!("{shown}: {error}"))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::Fields)
            .from_reader(text.as_bytes());
        let mut accounts = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|error| {
                let line = error.position().map_or(0, csv::Position::line);
                format!("{shown}, line {line}: {error}")
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            if record.iter().all(str::is_empty) {
                continue;
            }
            let (Some(username), Some(password)) = (record.get(0), record.get(1)) else {
                return Err(format!("{shown}, line {line}: expected username,password"));
            };
            if line == 1
                && username.eq_ignore_ascii_case("username")
                && password.eq_ignore_ascii_case("password")
            {
                continue;
            }
            if record.len() != 2 || username.is_empty() || password.is_empty() {
                return Err(format!(
                    "{shown}, line {line}: expected username,password (both non-empty, nothing more)"
                ));
            }
            accounts.push(Account {
                username: username.to_owned(),
                password: password.to_owned(),
            });
        }
        if accounts.is_empty() {
            return Err(format!(
                "{shown}: no account in it (expected username,password lines)"
            ));
        }
        Ok(Accounts::Listed(accounts.into()))
    }

    /// The account user `user` (its place among the run's users) logs in as on its
    /// `iteration`-th login: a listed account in turn (user `u` starts at account `u` and
    /// takes the next one each iteration), or a generated user spread over the directory (a
    /// different one for each user while there are as many accounts as users: 7919 is prime).
    pub fn account(&self, user: usize, iteration: u64) -> Account {
        match self {
            Accounts::Generated { password, count } => {
                let n = (user as u64 * 7919 + iteration) % (*count).max(1) + 1;
                Account {
                    username: format!("user{n}@example.com"),
                    password: password.clone(),
                }
            }
            Accounts::Listed(accounts) => {
                let index = (user as u64).wrapping_add(iteration) % accounts.len() as u64;
                accounts[usize::try_from(index).unwrap_or(0)].clone()
            }
        }
    }

    /// How many accounts there are.
    pub fn len(&self) -> u64 {
        match self {
            Accounts::Generated { count, .. } => *count,
            Accounts::Listed(accounts) => accounts.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Accounts, String> {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("write");
        Accounts::read(file.path())
    }

    fn names(accounts: &Accounts) -> Vec<(String, String)> {
        match accounts {
            Accounts::Listed(list) => list
                .iter()
                .map(|account| (account.username.clone(), account.password.clone()))
                .collect(),
            Accounts::Generated { .. } => Vec::new(),
        }
    }

    #[test]
    fn generated_accounts_differ_for_every_user_up_to_their_count() {
        let accounts = Accounts::Generated {
            password: "pw".into(),
            count: 100_000,
        };
        let names: std::collections::HashSet<String> = (0..100_000)
            .map(|user| accounts.account(user, 0).username)
            .collect();
        assert_eq!(names.len(), 100_000);
        assert!(names.contains("user1@example.com") && names.contains("user100000@example.com"));
        assert!(!names.contains("user100001@example.com"));
    }

    #[test]
    fn a_file_with_or_without_header_and_quotes() {
        let accounts = read("username,password\nann,pw1\n\n\"bob, jr\",\"p,w\"\n").expect("read");
        assert_eq!(
            names(&accounts),
            [
                ("ann".into(), "pw1".into()),
                ("bob, jr".into(), "p,w".into())
            ]
        );
        let accounts = read("ann,pw1\r\nbob,pw2").expect("read");
        assert_eq!(accounts.len(), 2);
    }

    #[test]
    fn users_take_listed_accounts_in_turn() {
        let accounts = read("a,1\nb,2\nc,3\n").expect("read");
        let taken: Vec<String> = [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (2, 1)]
            .iter()
            .map(|&(user, iteration)| accounts.account(user, iteration).username)
            .collect();
        assert_eq!(taken, ["a", "b", "c", "a", "b", "a"]);
        let generated = Accounts::Generated {
            password: "pw".into(),
            count: GENERATED,
        };
        assert_eq!(generated.account(0, 0).username, "user1@example.com");
        assert_eq!(generated.account(1, 2).username, "user7922@example.com");
        assert_eq!(generated.account(1, 2).password, "pw");
    }

    #[test]
    fn empty_and_malformed_files_are_refused_naming_the_line() {
        let empty = read("").expect_err("empty");
        assert!(empty.contains("no account"), "{empty}");
        let header_only = read("username,password\n").expect_err("header only");
        assert!(header_only.contains("no account"), "{header_only}");
        let short = read("ann,pw\nbob\n").expect_err("one field");
        assert!(short.contains("line 2"), "{short}");
        let blank = read("ann,\n").expect_err("empty password");
        assert!(blank.contains("line 1"), "{blank}");
        let extra = read("ann,pw,x\n").expect_err("three fields");
        assert!(extra.contains("line 1"), "{extra}");
        let quote = read("ann,pw\n\"bob,pw\n").expect_err("unclosed quote");
        assert!(quote.contains("line"), "{quote}");
        assert!(
            Accounts::read(Path::new("/no/such/file.csv"))
                .expect_err("missing")
                .contains("/no/such/file.csv")
        );
    }
}
