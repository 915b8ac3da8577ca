//! A PostgreSQL server for tests: `REANIMATOR_PG_URL` when set, otherwise a throwaway cluster
//! from Debian's packages (`/usr/lib/postgresql/*/bin`) started once per test binary.
//!
//! The cluster lives in a temporary directory owned by the `postgres` user (PostgreSQL refuses
//! to run as root; as root the tools run through `runuser`), listens on 127.0.0.1 at a free port
//! and on a socket in that directory, trusts local connections, and skips fsync (it is thrown
//! away). libtest never drops statics, so a watchdog process stops it (`pg_ctl stop -m
//! immediate`) and removes the directory as soon as the test process is gone, however it ended.
//! Each test gets a database of its own. A missing PostgreSQL fails the test, never skips it.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

const INSTALL_HINT: &str = "install PostgreSQL's server with `apt-get install postgresql` \
    (Debian; .ci/run does it), or set REANIMATOR_PG_URL=postgres://USER@127.0.0.1:PORT/DATABASE \
    to a running server where USER may create databases";

/// Where test databases are created.
struct Server {
    /// A URL to the server's maintenance database, as a superuser or database creator.
    admin_url: String,
    /// Set through `REANIMATOR_PG_URL`: databases are dropped after each test.
    external: bool,
}

/// One test's database; dropped afterwards on an external server.
pub struct Database {
    pub url: String,
    name: String,
    admin_url: Option<String>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A new, empty database; panics with how to install PostgreSQL if there is none to use.
pub async fn fresh_database() -> Database {
    let server = match SERVER.get_or_init(server) {
        Ok(server) => server,
        Err(why) => panic!("no PostgreSQL for the store tests: {why}; {INSTALL_HINT}"),
    };
    let name = format!(
        "reanimator_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = connect(&server.admin_url).await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot create the test database {name} on {}: {e:?}",
                server.admin_url
            )
        });
    let mut url = url::Url::parse(&server.admin_url).expect("the server URL parses");
    url.set_path(&name);
    Database {
        url: url.to_string(),
        name,
        admin_url: server.external.then(|| server.admin_url.clone()),
    }
}

/// A plain connection, for setting up what a test needs.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e:?}"));
    tokio::spawn(connection);
    client
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some(admin_url) = self.admin_url.take() else {
            return;
        };
        let name = self.name.clone();
        // Drop runs outside any runtime that could still be polled: use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                let admin = connect(&admin_url).await;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "could not drop the test database {}: {dropped:?}",
                self.name
            );
        }
    }
}

fn server() -> Result<Server, String> {
    if let Ok(url) = std::env::var("REANIMATOR_PG_URL") {
        return Ok(Server {
            admin_url: url,
            external: true,
        });
    }
    let bin = bindir()?;
    start_cluster(&bin)
}

/// The newest `/usr/lib/postgresql/N/bin` that has `initdb`.
fn bindir() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| format!("{} cannot be read ({e})", root.display()))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| format!("no {}/*/bin/initdb", root.display()))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A command that runs as the `postgres` user when we are root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Runs a command to completion with its output in `log`; the output is the error.
fn run(mut command: Command, log: &Path) -> Result<(), String> {
    let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let status = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        Err(format!("{command:?} failed ({status}): {text}"))
    }
}

fn postgres_ids() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| "there is no `postgres` system user".to_string())
    };
    Ok((id("-u")?, id("-g")?))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn start_cluster(bin: &Path) -> Result<Server, String> {
    let dir = tempfile::Builder::new()
        .prefix("reanimator-pg-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?
        .keep();
    let data = dir.join("data");
    let sockets = dir.join("sockets");
    std::fs::create_dir(&sockets).map_err(|e| e.to_string())?;
    if is_root() {
        let (uid, gid) = postgres_ids()?;
        for path in [&dir, &sockets] {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| format!("cannot give {} to postgres: {e}", path.display()))?;
        }
    }
    let mut initdb = as_postgres(&bin.join("initdb"));
    initdb.arg("-D").arg(&data).args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
    ]);
    run(initdb, &dir.join("initdb.out"))?;
    watch(bin, &data, &dir);
    let pg_ctl = bin.join("pg_ctl");
    let mut last_error = String::new();
    // A port found free can be taken before the server binds it: try another.
    for _ in 0..5 {
        let port = free_port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            sockets.display()
        );
        let mut start = as_postgres(&pg_ctl);
        start
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-o", &options]);
        match run(start, &dir.join("pg_ctl.out")) {
            Ok(()) => {
                return Ok(Server {
                    admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                    external: false,
                })
            }
            Err(e) => {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                last_error = format!("{e}; server log: {log}");
            }
        }
    }
    Err(last_error)
}

/// Stops the cluster and removes its directory once this process has exited. The watchdog
/// runs in the background of a shell that exits at once (so it is nobody's zombie), in a
/// process group of its own, so a Ctrl-C meant for the tests does not take it down first.
fn watch(bin: &Path, data: &Path, dir: &Path) {
    let stop = if is_root() {
        "runuser -u postgres -- \"$1\" stop -D \"$2\" -m immediate"
    } else {
        "\"$1\" stop -D \"$2\" -m immediate"
    };
    let script = format!(
        "(while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop}; rm -rf \"$3\") >/dev/null 2>&1 &",
        pid = std::process::id()
    );
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("watchdog")
        .arg(bin.join("pg_ctl"))
        .arg(data)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .status()
        .expect("sh starts the cluster's watchdog");
    assert!(status.success(), "the watchdog's shell failed: {status}");
}
