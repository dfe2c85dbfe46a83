//! `loadtest kube`: writes a distributed run's manifests (`cluster::render`), and with `--local`
//! runs exactly what they say as processes on loopback — the coordinator's and every generator
//! pod's command line and environment, the completion index, the Secret's token and run file —
//! through the same coordinator, release and merge, then fetches the report as a user would.
//! Only what a cluster provides is stood in for: the Service's name becomes a loopback address,
//! volumes become folders, `metadata.name` a pod-like name. The coordinator sees no process
//! exits, as on a cluster: a worker that vanishes falls silent.

use super::single::RunOutcome;
use crate::cluster::manifest::{Container, Job};
use crate::cluster::render::{
    self, COORDINATOR, KubeArgs, RESULTS_MOUNT, RUN_KEY, RUN_MOUNT, SECRET, WORKERS,
};
use crate::coordinate::protocol::INDEX_ENV;
use crate::error::While as _;
use crate::error::{RunResult, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `loadtest kube` as a command.
#[derive(Debug, Clone, clap::Args)]
pub struct KubeCommand {
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Run the manifests here, as processes on loopback (a check of what the pods would do;
    /// the run's --target must be on loopback too).
    #[arg(long)]
    pub local: bool,
}

/// What `kube` did: the files written, and with `--local` the merged run.
#[derive(Debug)]
pub struct KubeOutcome {
    pub files: Vec<PathBuf>,
    pub local: Option<RunOutcome>,
}

/// Writes the manifests; with `--local`, runs them.
pub async fn execute(command: &KubeCommand) -> RunResult<KubeOutcome> {
    let kube = &command.kube;
    kube.run.validate()?;
    ensure!(
        !kube.run.target.is_empty(),
        "the pods make load against a running system: give its --target (and --target-idp, \
         --target-forums)"
    );
    let token = crate::coordinate::new_token();
    let manifests = kube.render(&token)?;
    let files = manifests.write(&kube.out)?;
    let local = if command.local {
        Some(run_locally(&kube.out).await?)
    } else {
        None
    };
    Ok(KubeOutcome { files, local })
}

/// A started process, killed if still running when dropped.
#[derive(Debug)]
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs the manifests in `dir` as processes on loopback; the merged run.
pub async fn run_locally(dir: &Path) -> RunResult<RunOutcome> {
    let objects = render::read_dir(dir)?;
    let secret = render::secret(&objects, SECRET)
        .doing_with(|| format!("the Secret {SECRET} in {}", dir.display()))?;
    let job = |name: &str| {
        render::job(&objects, name).doing_with(|| format!("the Job {name} in {}", dir.display()))
    };
    let (coordinator_job, workers_job) = (job(COORDINATOR)?, job(WORKERS)?);
    let local = dir.join("local");
    let secret_dir = local.join("secret");
    let results_dir = local.join("results");
    std::fs::create_dir_all(&secret_dir)?;
    std::fs::create_dir_all(&results_dir)?;
    for (key, value) in &secret.string_data {
        // The run names its files where the Secret is mounted: here, this folder.
        let value = if key == RUN_KEY {
            value.replace(RUN_MOUNT, &path_text(&secret_dir))
        } else {
            value.clone()
        };
        std::fs::write(secret_dir.join(key), value)?;
    }
    // The Service's port, free on loopback: what the pods' DNS name stands for here.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    let local_url = format!("http://127.0.0.1:{port}");
    // The pods' paths and addresses, as this host has them.
    let rewrite = |arg: &str| -> String {
        if arg.starts_with("0.0.0.0:") {
            return format!("127.0.0.1:{port}");
        }
        arg.replace(
            &format!("{RUN_MOUNT}/{RUN_KEY}"),
            &path_text(&secret_dir.join(RUN_KEY)),
        )
        .replace(RESULTS_MOUNT, &path_text(&results_dir))
    };
    let container = |job: &Job| -> RunResult<Container> {
        job.spec
            .template
            .spec
            .containers
            .first()
            .cloned()
            .doing_with(|| format!("the container of the Job {}", job.metadata.name))
    };
    let coordinator_container = container(coordinator_job)?;
    let worker_container = container(workers_job)?;
    let program = std::env::current_exe()?;
    let start = |container: &Container,
                 pod: &str,
                 index: Option<usize>,
                 url_from: Option<&str>|
     -> RunResult<Process> {
        let mut command = Command::new(&program);
        for arg in &container.args {
            let mut arg = rewrite(arg);
            if let Some(from) = url_from {
                arg = arg.replace(from, &local_url);
            }
            command.arg(arg);
        }
        for variable in &container.env {
            let from = variable.value_from.as_ref();
            let value = match (
                &variable.value,
                from.and_then(|from| from.secret_key_ref.as_ref()),
                from.and_then(|from| from.field_ref.as_ref()),
            ) {
                (Some(value), _, _) => value.clone(),
                (None, Some(selector), _) => secret
                    .string_data
                    .get(&selector.key)
                    .cloned()
                    .doing_with(|| format!("the key {} of the Secret", selector.key))?,
                (None, None, Some(field)) if field.field_path == "metadata.name" => pod.to_owned(),
                _ => bail!(
                    "the variable {} has no value this executor knows",
                    variable.name
                ),
            };
            command.env(&variable.name, value);
        }
        if let Some(index) = index {
            command.env(INDEX_ENV, index.to_string());
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .doing_with(|| format!("starting the pod {pod} as a process"))?;
        Ok(Process(child))
    };
    let mut coordinator = start(
        &coordinator_container,
        "ssobench-coordinator-local",
        None,
        None,
    )?;
    let service_url = worker_container
        .args
        .iter()
        .find(|arg| arg.starts_with("http://"))
        .cloned()
        .doing("the coordinator's URL in the workers' arguments")?;
    let count = workers_job.spec.completions.unwrap_or(1) as usize;
    let mut pods = Vec::with_capacity(count);
    for index in 0..count {
        pods.push(start(
            &worker_container,
            &format!("{WORKERS}-{index}-local"),
            Some(index),
            Some(&service_url),
        )?);
    }
    // What a user does once the coordinator has merged: fetch the report.
    let deadline =
        Instant::now() + Duration::from_secs(coordinator_job.spec.active_deadline_seconds);
    let client = reqwest::Client::new();
    let archive = loop {
        if let Some(status) = coordinator.0.try_wait()? {
            bail!(
                "the coordinator ended ({status}) before serving the report; its messages are above"
            );
        }
        ensure!(
            Instant::now() < deadline,
            "the coordinator served no report within the Job's deadline ({} s): stopped",
            coordinator_job.spec.active_deadline_seconds
        );
        let token = secret
            .string_data
            .get(render::TOKEN_KEY)
            .map(String::as_str)
            .unwrap_or_default();
        if let Ok(response) = client
            .get(format!("{local_url}/report.tar"))
            .bearer_auth(token)
            .send()
            .await
        {
            if response.status().is_success() {
                break response.bytes().await?;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let fetched = local.join("fetched");
    std::fs::create_dir_all(&fetched)?;
    tar::Archive::new(archive.as_ref())
        .unpack(&fetched)
        .doing("unpacking the fetched report")?;
    let run_dir = fetched.join("ssobench-run");
    let results = reports::results::read_load(&run_dir)?;
    drop(pods);
    drop(coordinator);
    Ok(RunOutcome {
        report: run_dir.join("index.html"),
        run_dir,
        results,
        violations: Vec::new(),
    })
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
