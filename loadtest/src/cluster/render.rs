//! A distributed run as Kubernetes objects (`loadtest kube`): a Secret with the run's token and
//! its arguments, a headless Service in front of the coordinator, the coordinator's Job, and an
//! Indexed Job of generator pods whose completion index is their worker index. No operator, no
//! CRD: plain files for `kubectl apply -f`.

use super::manifest::{
    Affinity, Capabilities, Container, ContainerPort, ContainerSecurityContext, EmptyDir,
    EnvSource, EnvVar, FieldSelector, Job, JobSpec, LabelSelector, Metadata, Object,
    PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplate, Resources,
    SeccompProfile, Secret, SecretKeySelector, SecretVolume, Service, ServicePort, ServiceSpec,
    Volume, VolumeMount,
};
use crate::coordinate::protocol::TOKEN_ENV;
use crate::error::RunResult;
use crate::error::While as _;
use crate::setup::args::RunArgs;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The objects' common name.
pub const NAME: &str = "ssobench";
/// The coordinator's Job, Service and host name.
pub const COORDINATOR: &str = "ssobench-coordinator";
/// The generators' Indexed Job.
pub const WORKERS: &str = "ssobench-workers";
/// The Secret with the token (`token`) and the run's arguments (`run.json`).
pub const SECRET: &str = "ssobench-run";
pub const TOKEN_KEY: &str = "token";
pub const RUN_KEY: &str = "run.json";
/// Files the run names on the host that writes the manifests travel in the Secret too: the
/// accounts of `--users-file` and the CA of `--ca-cert`.
pub const USERS_KEY: &str = "users.csv";
pub const CA_KEY: &str = "ca.pem";
/// A Secret holds at most 1 MiB; a little is left for its other fields.
pub const SECRET_LIMIT: usize = 1_000_000;
/// Where the coordinator's pod finds the Secret's files, and writes the merged run.
pub const RUN_MOUNT: &str = "/etc/ssobench";
pub const RESULTS_MOUNT: &str = "/results";
/// The image's user (the Containerfile's): not root.
pub const IMAGE_USER: u32 = 10001;

/// `loadtest kube`: the manifests of a distributed run.
#[derive(Debug, Clone, clap::Args)]
pub struct KubeArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The folder the manifests are written to (`kubectl apply -f` it).
    #[arg(long)]
    pub out: PathBuf,
    /// The image built from the Containerfile, as the cluster pulls it.
    #[arg(long)]
    pub image: String,
    /// The namespace the run's objects go in (create it first).
    #[arg(long, default_value = NAME)]
    pub namespace: String,
    /// CPU each generator pod requests (and the coordinator's), in Kubernetes units.
    #[arg(long, default_value = "1")]
    pub cpu_request: String,
    /// CPU each generator pod may use at most; a limit throttles the generator (its verdict
    /// reads the throttling), so leave it unset or at least the request.
    #[arg(long)]
    pub cpu_limit: Option<String>,
    /// Memory each generator pod requests.
    #[arg(long, default_value = "1Gi")]
    pub memory_request: String,
    /// Memory each generator pod may use at most (past it the pod is killed).
    #[arg(long)]
    pub memory_limit: Option<String>,
    /// At most one generator per node (required pod anti-affinity on the node's host name).
    #[arg(long)]
    pub spread: bool,
    /// The coordinator's port.
    #[arg(long, default_value_t = 7878)]
    pub port: u16,
    /// How long every generator pod may take to get ready (scheduled, its image pulled, set
    /// up) before the run is refused naming the late ones; on a cluster this replaces
    /// --ready-within, whose 60 s suits processes on one host.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub pod_ready_within: Duration,
    /// How long the coordinator serves the merged report after the run, unless it is fetched
    /// first (`kubectl port-forward`).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub serve_for: Duration,
}

/// A rendered run: its files' names and objects.
#[derive(Debug, Clone)]
pub struct Manifests {
    pub files: Vec<(String, Vec<Object>)>,
}

fn labels(component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), NAME.to_owned()),
        (
            "app.kubernetes.io/component".to_owned(),
            component.to_owned(),
        ),
    ])
}

fn metadata(name: &str, namespace: &str, component: &str) -> Metadata {
    Metadata {
        name: name.to_owned(),
        namespace: Some(namespace.to_owned()),
        labels: labels(component),
    }
}

fn secret_env(name: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvSource {
            secret_key_ref: Some(SecretKeySelector {
                name: SECRET.to_owned(),
                key: key.to_owned(),
            }),
            field_ref: None,
        }),
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDir {}),
        secret: None,
    }
}

/// The run's Secret as a volume (`run`), its keys as files.
fn secret_volume() -> Volume {
    Volume {
        name: "run".into(),
        empty_dir: None,
        secret: Some(SecretVolume {
            secret_name: SECRET.into(),
        }),
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.to_owned(),
        mount_path: path.to_owned(),
        read_only,
    }
}

impl KubeArgs {
    /// The run as the coordinator will hold it: with the pods' ready limit.
    pub fn coordinated_run(&self) -> RunArgs {
        let mut run = self.run.clone();
        run.ready_within = self.pod_ready_within;
        run
    }

    /// The coordinator's URL as the generator pods reach it (the headless Service's name).
    pub fn coordinator_url(&self) -> String {
        format!("http://{COORDINATOR}.{}.svc:{}", self.namespace, self.port)
    }

    /// How long a generator pod may live: ready, warm-up, ramp, run, a request's timeout,
    /// the upload; the Job's deadline, so a run stops by itself whatever happens.
    fn worker_deadline(&self, run: &RunArgs) -> Duration {
        // The ready limit counts from the coordinator's start, the Job's deadline from its own:
        // twice the limit leaves room for a coordinator scheduled late.
        run.ready_within * 2
            + run.warm_up()
            + run.ramp_up()
            + run.run_time()
            + run.request_timeout
            + run.results_within
    }

    fn resources(&self) -> Resources {
        let mut resources = Resources::default();
        resources
            .requests
            .insert("cpu".into(), self.cpu_request.clone());
        resources
            .requests
            .insert("memory".into(), self.memory_request.clone());
        if let Some(cpu) = &self.cpu_limit {
            resources.limits.insert("cpu".into(), cpu.clone());
        }
        if let Some(memory) = &self.memory_limit {
            resources.limits.insert("memory".into(), memory.clone());
        }
        resources
    }

    fn job(
        &self,
        name: &str,
        component: &str,
        container: Container,
        volumes: Vec<Volume>,
        deadline: Duration,
    ) -> Job {
        Job {
            api_version: "batch/v1".into(),
            metadata: metadata(name, &self.namespace, component),
            spec: JobSpec {
                completions: None,
                parallelism: None,
                completion_mode: None,
                backoff_limit: 0,
                // Kept a day after they finish, for `kubectl logs`.
                ttl_seconds_after_finished: 86_400,
                active_deadline_seconds: deadline.as_secs().max(1),
                template: PodTemplate {
                    metadata: Metadata {
                        name: name.to_owned(),
                        namespace: None,
                        labels: labels(component),
                    },
                    spec: PodSpec {
                        restart_policy: "Never".into(),
                        affinity: None,
                        security_context: PodSecurityContext {
                            run_as_non_root: true,
                            run_as_user: IMAGE_USER,
                            seccomp_profile: SeccompProfile {
                                kind: "RuntimeDefault".into(),
                            },
                        },
                        containers: vec![container],
                        volumes,
                    },
                },
            },
        }
    }

    fn container(&self, name: &str, args: Vec<String>, env: Vec<EnvVar>) -> Container {
        Container {
            name: name.to_owned(),
            image: self.image.clone(),
            args,
            env,
            ports: Vec::new(),
            resources: self.resources(),
            security_context: ContainerSecurityContext {
                allow_privilege_escalation: false,
                read_only_root_filesystem: true,
                capabilities: Capabilities {
                    drop: vec!["ALL".into()],
                },
            },
            volume_mounts: vec![mount("tmp", "/tmp", false)],
        }
    }

    /// The run's objects, in the files `loadtest kube` writes.
    pub fn render(&self, token: &str) -> RunResult<Manifests> {
        let mut run = self.coordinated_run();
        let workers = run.workers;
        let worker_deadline = self.worker_deadline(&run);
        let mut string_data = BTreeMap::from([(TOKEN_KEY.to_owned(), token.to_owned())]);
        // A file the run names here would not be in the pods: it travels in the Secret, and
        // the run names it where the Secret is mounted.
        for (file, key) in [(&mut run.users_file, USERS_KEY), (&mut run.ca_cert, CA_KEY)] {
            if let Some(path) = file.as_ref() {
                let text = std::fs::read_to_string(path)
                    .doing_with(|| format!("reading {} for the Secret", path.display()))?;
                string_data.insert(key.to_owned(), text);
                *file = Some(PathBuf::from(format!("{RUN_MOUNT}/{key}")));
            }
        }
        string_data.insert(RUN_KEY.to_owned(), serde_json::to_string_pretty(&run)?);
        let size: usize = string_data.values().map(String::len).sum();
        crate::error::ensure!(
            size <= SECRET_LIMIT,
            "the run's files come to {size} bytes, more than a Secret holds ({SECRET_LIMIT}): \
             use a shorter --users-file, or several runs"
        );
        crate::error::ensure!(
            self.pod_ready_within <= crate::coordinate::link::CONNECT_WITHIN,
            "--pod-ready-within is at most {} s: a worker stops trying to reach its coordinator \
             after that",
            crate::coordinate::link::CONNECT_WITHIN.as_secs()
        );
        let secret = Secret {
            api_version: "v1".into(),
            metadata: metadata(SECRET, &self.namespace, "run"),
            kind: "Opaque".into(),
            string_data,
        };
        let service = Service {
            api_version: "v1".into(),
            metadata: metadata(COORDINATOR, &self.namespace, "coordinator"),
            spec: ServiceSpec {
                cluster_ip: "None".into(),
                selector: labels("coordinator"),
                ports: vec![ServicePort {
                    name: "coordinator".into(),
                    port: self.port,
                    target_port: self.port,
                }],
            },
        };
        let mut coordinator = self.container(
            "coordinator",
            vec![
                "coordinate".into(),
                "--run".into(),
                format!("{RUN_MOUNT}/{RUN_KEY}"),
                "--listen".into(),
                format!("0.0.0.0:{}", self.port),
                "--out".into(),
                RESULTS_MOUNT.into(),
                "--serve-for".into(),
                humantime::format_duration(self.serve_for).to_string(),
            ],
            vec![secret_env(TOKEN_ENV, TOKEN_KEY)],
        );
        // The coordinator holds the uploads and the archive, not the load: its own sizing.
        coordinator.resources = Resources {
            requests: BTreeMap::from([
                ("cpu".to_owned(), "250m".to_owned()),
                ("memory".to_owned(), "512Mi".to_owned()),
            ]),
            limits: BTreeMap::new(),
        };
        coordinator.ports.push(ContainerPort {
            name: "coordinator".into(),
            container_port: self.port,
        });
        coordinator.volume_mounts.extend([
            mount("run", RUN_MOUNT, true),
            mount("results", RESULTS_MOUNT, false),
        ]);
        let coordinator_job = self.job(
            COORDINATOR,
            "coordinator",
            coordinator,
            vec![empty_dir("tmp"), empty_dir("results"), secret_volume()],
            worker_deadline + self.serve_for,
        );
        let worker = self.container(
            "worker",
            vec![
                "worker".into(),
                "--coordinator".into(),
                self.coordinator_url(),
            ],
            vec![
                secret_env(TOKEN_ENV, TOKEN_KEY),
                EnvVar {
                    name: crate::coordinate::protocol::POD_ENV.into(),
                    value: None,
                    value_from: Some(EnvSource {
                        secret_key_ref: None,
                        field_ref: Some(FieldSelector {
                            field_path: "metadata.name".into(),
                        }),
                    }),
                },
            ],
        );
        // Workers read the run's files (accounts, a CA) where the Secret is mounted.
        let mut worker = worker;
        worker.volume_mounts.push(mount("run", RUN_MOUNT, true));
        let mut workers_job = self.job(
            WORKERS,
            "worker",
            worker,
            vec![empty_dir("tmp"), secret_volume()],
            worker_deadline,
        );
        workers_job.spec.completions = Some(workers);
        workers_job.spec.parallelism = Some(workers);
        workers_job.spec.completion_mode = Some("Indexed".into());
        if self.spread {
            workers_job.spec.template.spec.affinity = Some(Affinity {
                pod_anti_affinity: PodAntiAffinity {
                    required_during_scheduling_ignored_during_execution: vec![PodAffinityTerm {
                        label_selector: LabelSelector {
                            match_labels: labels("worker"),
                        },
                        topology_key: "kubernetes.io/hostname".into(),
                    }],
                },
            });
        }
        Ok(Manifests {
            files: vec![
                ("10-secret.yaml".into(), vec![Object::Secret(secret)]),
                (
                    "20-coordinator.yaml".into(),
                    vec![Object::Service(service), Object::Job(coordinator_job)],
                ),
                ("30-workers.yaml".into(), vec![Object::Job(workers_job)]),
            ],
        })
    }
}

impl Manifests {
    /// Writes each file into `dir` (created if need be): YAML documents separated by `---`.
    pub fn write(&self, dir: &Path) -> RunResult<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).doing_with(|| format!("creating {}", dir.display()))?;
        let mut written = Vec::with_capacity(self.files.len());
        for (name, objects) in &self.files {
            let mut text = String::from(
                "# Written by `loadtest kube`; apply the folder with `kubectl apply -f`.\n",
            );
            for object in objects {
                text.push_str("---\n");
                text.push_str(&serde_yaml::to_string(object)?);
            }
            let path = dir.join(name);
            std::fs::write(&path, text).doing_with(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// The Job called `name` among `objects` (as [`read_dir`] gives them).
pub fn job<'a>(objects: &'a [Object], name: &str) -> Option<&'a Job> {
    objects.iter().find_map(|object| match object {
        Object::Job(job) if job.metadata.name == name => Some(job),
        _ => None,
    })
}

/// The Secret called `name` among `objects` (as [`read_dir`] gives them).
pub fn secret<'a>(objects: &'a [Object], name: &str) -> Option<&'a Secret> {
    objects.iter().find_map(|object| match object {
        Object::Secret(secret) if secret.metadata.name == name => Some(secret),
        _ => None,
    })
}

/// Every object of the `.yaml` files in `dir`, in the files' order.
pub fn read_dir(dir: &Path) -> RunResult<Vec<Object>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .doing_with(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    paths.sort();
    let mut objects = Vec::new();
    for path in paths {
        let text =
            std::fs::read_to_string(&path).doing_with(|| format!("reading {}", path.display()))?;
        for document in serde_yaml::Deserializer::from_str(&text) {
            let object = serde::Deserialize::deserialize(document)
                .doing_with(|| format!("reading an object of {}", path.display()))?;
            objects.push(object);
        }
    }
    Ok(objects)
}
