//! `reanimator radius`: the utility's embedded RADIUS server and its credential edits.
//!
//! `set-password` edits the credentials file (TOML) and appends who did it to the change
//! logbook (JSON lines); `serve` answers Access-Request and Accounting-Request on loopback UDP
//! and reloads both files when they change. Formats: `docs/radius.md`.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use jiff::Timestamp;
use rand::distributions::{Alphanumeric, DistString};

use super::exit;
use crate::net::radius_udp::RadiusUdpServer;
use crate::radius::server::Discard;
use crate::radius::{
    AcctStatusKind, Credentials, Decision, Logbook, RadiusServer, ServerConfig, ServerEvent,
    SimCredential, UtilityServer,
};

/// The credentials file used when --credentials is not given.
const DEFAULT_CREDENTIALS: &str = "radius-credentials.toml";

#[derive(Debug, Args)]
pub struct RadiusArgs {
    #[command(subcommand)]
    pub command: RadiusCommand,
}

#[derive(Debug, Subcommand)]
pub enum RadiusCommand {
    /// Sets a SIM's RADIUS password and records who changed it in the logbook.
    SetPassword(SetPasswordArgs),
    /// Runs the embedded RADIUS server on loopback UDP.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct SetPasswordArgs {
    /// The SIM's ICCID (18 to 22 digits).
    pub iccid: String,
    /// Who makes the change (recorded in the logbook).
    #[arg(long)]
    pub by: String,
    /// The new password; a random one is generated and printed when omitted.
    #[arg(long)]
    pub password: Option<String>,
    /// Adds the SIM with this User-Name when the credentials file does not have it yet.
    #[arg(long)]
    pub user: Option<String>,
    /// Why, for the logbook.
    #[arg(long)]
    pub note: Option<String>,
    #[arg(long, default_value = DEFAULT_CREDENTIALS)]
    pub credentials: PathBuf,
    /// The change logbook; defaults to the credentials file's name with `.logbook.jsonl`.
    #[arg(long)]
    pub logbook: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to answer Access-Request and Accounting-Request (loopback only).
    #[arg(long, default_value = "127.0.0.1:1812")]
    pub listen: SocketAddr,
    /// A second socket, e.g. 127.0.0.1:1813, for accounting by the usual port split.
    #[arg(long)]
    pub acct_listen: Option<SocketAddr>,
    /// The shared secret of the clients (the operator's proxy).
    #[arg(long)]
    pub secret: String,
    #[arg(long, default_value = DEFAULT_CREDENTIALS)]
    pub credentials: PathBuf,
    /// The change logbook, used to explain rejects; defaults as for set-password.
    #[arg(long)]
    pub logbook: Option<PathBuf>,
    /// Drop Access-Requests that carry no Message-Authenticator.
    #[arg(long)]
    pub require_message_authenticator: bool,
    /// One JSON object per event instead of a text line.
    #[arg(long)]
    pub json: bool,
}

/// A failure with the exit status it maps to.
struct Failure(i32, String);

fn invalid(message: impl Into<String>) -> Failure {
    Failure(exit::INVALID_INPUT, message.into())
}

pub fn run(args: RadiusArgs) -> i32 {
    let result = match args.command {
        RadiusCommand::SetPassword(args) => set_password(args),
        RadiusCommand::Serve(args) => serve(args),
    };
    match result {
        Ok(()) => exit::OK,
        Err(Failure(code, message)) => {
            eprintln!("reanimator radius: {message}");
            code
        }
    }
}

/// `<credentials minus extension>.logbook.jsonl`, beside the credentials file.
pub fn default_logbook(credentials: &Path) -> PathBuf {
    credentials.with_extension("logbook.jsonl")
}

fn set_password(args: SetPasswordArgs) -> Result<(), Failure> {
    if args.by.trim().is_empty() {
        return Err(invalid(
            "--by is empty; give the name of the person making the change",
        ));
    }
    let logbook_path = args
        .logbook
        .clone()
        .unwrap_or_else(|| default_logbook(&args.credentials));
    let credentials = match args.user {
        Some(_) if !args.credentials.exists() => Credentials::default(),
        _ => load_credentials(&args.credentials)?,
    };
    let logbook = load_logbook(&logbook_path)?;
    let mut utility = UtilityServer::new(credentials, logbook)
        .map_err(|e| invalid(format!("{}: {e}", args.credentials.display())))?;
    let (password, generated) = match args.password {
        Some(p) => (p, false),
        None => (Alphanumeric.sample_string(&mut rand::rngs::OsRng, 20), true),
    };
    let now = Timestamp::now();
    let known = utility.credentials().find_iccid(&args.iccid).is_some();
    let entry = match (&args.user, known) {
        (_, true) => utility.set_password(&args.iccid, &password, &args.by, now, args.note),
        (Some(user), false) => utility.add_sim(
            SimCredential::new(&args.iccid, user, &password),
            &args.by,
            now,
            args.note,
        ),
        (None, false) => {
            return Err(invalid(format!(
                "{}: no [[sim]] with iccid = \"{}\"; add one, or pass --user NAME to add the SIM",
                args.credentials.display(),
                args.iccid
            )))
        }
    }
    .map_err(|e| invalid(format!("{}: {e}", args.credentials.display())))?;
    // Write the new file aside, log the change, then swap the file in: a change is never in
    // force without its logbook line.
    let staged = args.credentials.with_extension("toml.new");
    write_private(&staged, &utility.credentials().to_toml())
        .map_err(|e| io_failure(&staged, "write", e))?;
    append_line(&logbook_path, &entry.to_json_line())
        .map_err(|e| io_failure(&logbook_path, "append to", e))?;
    fs::rename(&staged, &args.credentials)
        .map_err(|e| io_failure(&args.credentials, "replace", e))?;
    println!(
        "{} for SIM {} (user {}) by {} at {}; logged in {}",
        entry.change.describe(),
        entry.iccid,
        entry.user,
        entry.by,
        entry.at,
        logbook_path.display()
    );
    if generated {
        println!("new password: {password}");
    }
    Ok(())
}

fn serve(args: ServeArgs) -> Result<(), Failure> {
    for addr in std::iter::once(args.listen).chain(args.acct_listen) {
        if !addr.ip().is_loopback() {
            return Err(invalid(format!(
                "{addr} is not a loopback address; listen on 127.0.0.1 or ::1"
            )));
        }
    }
    if args.secret.is_empty() {
        return Err(invalid(
            "--secret is empty; give the shared secret of the clients",
        ));
    }
    let logbook_path = args
        .logbook
        .clone()
        .unwrap_or_else(|| default_logbook(&args.credentials));
    let utility = UtilityServer::new(
        load_credentials(&args.credentials)?,
        load_logbook(&logbook_path)?,
    )
    .map_err(|e| invalid(format!("{}: {e}", args.credentials.display())))?;
    let mut config = ServerConfig::new(args.secret.as_bytes());
    config.require_message_authenticator = args.require_message_authenticator;
    let core = Arc::new(Mutex::new(RadiusServer::new(config, utility)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(exit::FAILURE, format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve_until_interrupted(args, logbook_path, core))
}

async fn serve_until_interrupted(
    args: ServeArgs,
    logbook_path: PathBuf,
    core: Arc<Mutex<RadiusServer>>,
) -> Result<(), Failure> {
    let addrs: Vec<SocketAddr> = std::iter::once(args.listen)
        .chain(args.acct_listen)
        .collect();
    let (server, mut events) = RadiusUdpServer::bind(&addrs, core.clone())
        .await
        .map_err(|e| Failure(exit::CANNOT_CONNECT, e.to_string()))?;
    let sims = core
        .lock()
        .map(|c| c.utility().credentials().sims.len())
        .unwrap_or(0);
    let listening: Vec<String> = server.local_addrs().iter().map(|a| a.to_string()).collect();
    println!(
        "RADIUS server on {} with {sims} SIMs from {}",
        listening.join(" and "),
        args.credentials.display()
    );
    let _ = io::stdout().flush();
    let mut watch = FileWatch::new(&args.credentials, &logbook_path);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => print_event(&event, args.json),
                None => return Ok(()),
            },
            _ = tick.tick() => watch.reload_changed(&core),
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        let _ = io::stdout().flush();
    }
}

/// Reloads the credentials and the logbook when their modification time changes.
struct FileWatch {
    credentials: PathBuf,
    logbook: PathBuf,
    seen: (Option<SystemTime>, Option<SystemTime>),
}

impl FileWatch {
    fn new(credentials: &Path, logbook: &Path) -> Self {
        FileWatch {
            credentials: credentials.into(),
            logbook: logbook.into(),
            seen: (modified(credentials), modified(logbook)),
        }
    }

    fn reload_changed(&mut self, core: &Mutex<RadiusServer>) {
        let now = (modified(&self.credentials), modified(&self.logbook));
        if now == self.seen {
            return;
        }
        self.seen = now;
        let loaded = load_credentials(&self.credentials)
            .and_then(|c| load_logbook(&self.logbook).map(|l| (c, l)));
        let mut core = core.lock().unwrap_or_else(|p| p.into_inner());
        match loaded {
            Ok((credentials, logbook)) => {
                let sims = credentials.sims.len();
                match core.utility_mut().replace_credentials(credentials) {
                    Ok(()) => {
                        core.utility_mut().replace_logbook(logbook);
                        println!("reloaded {sims} SIMs from {}", self.credentials.display());
                    }
                    Err(e) => eprintln!(
                        "reanimator radius: {}: {e}; keeping the previous credentials",
                        self.credentials.display()
                    ),
                }
            }
            Err(Failure(_, message)) => {
                eprintln!("reanimator radius: {message}; keeping the previous credentials")
            }
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn print_event(event: &ServerEvent, json: bool) {
    let at = Timestamp::now();
    if json {
        let line = serde_json::json!({"at": at.to_string(), "event": event});
        println!("{line}");
        return;
    }
    match event {
        ServerEvent::Access {
            user,
            msisdn,
            apn,
            decision,
            ..
        } => {
            let code = match decision {
                Decision::Accept { .. } => "Access-Accept",
                Decision::Reject { .. } => "Access-Reject",
            };
            println!(
                "{at} {code} user={user:?} msisdn={} apn={}: {}",
                msisdn.as_deref().unwrap_or("-"),
                apn.as_deref().unwrap_or("-"),
                decision.describe()
            );
        }
        ServerEvent::Accounting { request, .. } => {
            let status = match request.status {
                AcctStatusKind::Start => "Start",
                AcctStatusKind::InterimUpdate => "Interim-Update",
                AcctStatusKind::Stop => "Stop",
            };
            let cause = request
                .terminate_cause
                .map(|c| format!(" cause={c}"))
                .unwrap_or_default();
            println!(
                "{at} Accounting-{status} session={:?} user={:?}{cause}",
                request.session_id, request.user_name
            );
        }
        ServerEvent::Duplicate { from, identifier } => {
            println!("{at} retransmission from {from} id={identifier} answered again")
        }
        ServerEvent::Discarded { from, reason } => {
            let why = match reason {
                Discard::Malformed(m) | Discard::BadAccounting(m) => m.clone(),
                Discard::UnexpectedCode(code) => format!("{code} is not a request"),
                Discard::NotAuthentic(e) => e.to_string(),
            };
            println!("{at} dropped a datagram from {from}: {why}");
        }
    }
}

fn load_credentials(path: &Path) -> Result<Credentials, Failure> {
    let text = fs::read_to_string(path).map_err(|e| {
        invalid(format!(
            "{}: cannot read the credentials file ({e}); create it with one [[sim]] table per SIM \
             (docs/radius.md) or pass --credentials FILE",
            path.display()
        ))
    })?;
    Credentials::from_toml(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))
}

/// The logbook, empty when the file does not exist yet.
fn load_logbook(path: &Path) -> Result<Logbook, Failure> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Logbook::new()),
        Err(e) => return Err(io_failure(path, "read", e)),
    };
    Logbook::from_json_lines(&text).map_err(|e| {
        invalid(format!(
            "{}: {e}; the logbook is append-only: restore the line from a backup",
            path.display()
        ))
    })
}

fn io_failure(path: &Path, action: &str, e: io::Error) -> Failure {
    Failure(
        exit::FAILURE,
        format!("cannot {action} {}: {e}", path.display()),
    )
}

/// Writes a file readable by its owner only (it holds passwords).
fn write_private(path: &Path, text: &str) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

fn append_line(path: &Path, line: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_all()
}
