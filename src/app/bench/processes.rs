//! The benchmark's child processes: start one, time it until it says it is ready, read its
//! resident memory (with its shard children) from /proc, and stop it with SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::app::meters::die_with_parent;

/// How long a fleet may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a fleet may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `reanimator` child: a fleet of meters or the bare baseline.
pub struct FleetProcess {
    child: Child,
    ready_after: Duration,
    /// Its stderr lines after "ready", for error messages.
    lines: mpsc::Receiver<String>,
}

impl FleetProcess {
    /// Starts `reanimator ARGS` and waits until a line on its stderr says `ready on`.
    pub fn start(args: &[String]) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(exe);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Forked from the main thread, which lives as long as the benchmark.
        die_with_parent(&mut cmd);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start reanimator {}: {e}", args.join(" ")))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (send, lines) = mpsc::channel();
        // Drains stderr for the child's whole life, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        loop {
            let left = READY_TIMEOUT.saturating_sub(started.elapsed());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains(" ready on ") => break,
                Ok(line) => seen.push(line),
                Err(_) => {
                    child.kill().ok();
                    child.wait().ok();
                    let last = seen.last().cloned().unwrap_or_default();
                    return Err(format!(
                        "reanimator {} did not get ready: {last}",
                        args.join(" ")
                    ));
                }
            }
        }
        Ok(FleetProcess {
            child,
            ready_after: started.elapsed(),
            lines,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// From spawning the process to its "ready" line.
    pub fn ready_after(&self) -> Duration {
        self.ready_after
    }

    /// The process and its direct children (the fleet's shards).
    fn tree(&self) -> Vec<u32> {
        let pid = self.child.id();
        let mut pids = vec![pid];
        pids.extend(children_of(pid));
        pids
    }

    pub fn processes(&self) -> usize {
        self.tree().len()
    }

    /// Resident memory of the process and its children, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.tree().into_iter().filter_map(rss_kib).sum()
    }

    /// SIGTERM, then waits for a clean exit (killing it after [`STOP_TIMEOUT`]).
    pub fn stop(mut self) -> Result<(), String> {
        let shards = children_of(self.child.id());
        // SAFETY: kill only signals our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    self.child.kill().ok();
                    return Err("a fleet did not stop within 10 s of SIGTERM".into());
                }
            }
        };
        if !status.success() {
            let said: Vec<String> = self.lines.try_iter().collect();
            return Err(format!("a fleet ended with {status}: {}", said.join("; ")));
        }
        match shards
            .iter()
            .find(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
        {
            Some(pid) => Err(format!("shard process {pid} outlived its fleet")),
            None => Ok(()),
        }
    }
}

/// Direct children of `pid`, found by their parent pid in /proc/*/stat.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| parent_of(*child) == Some(pid))
        .collect()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(1)?.parse().ok()
}

/// CPU time (user and system) used so far by `pid` and its direct children.
pub fn cpu_time_of_tree(pid: u32) -> Duration {
    std::iter::once(pid)
        .chain(children_of(pid))
        .filter_map(cpu_time)
        .sum()
}

/// CPU time (user and system) used so far by `pid`, from /proc/PID/stat.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    // Fields 14 and 15 of proc(5), counted from the state (field 3) here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_micros(ticks * 1_000_000 / per_second))
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    meminfo_field(&status, "VmRSS:")
}

/// VmHWM (peak resident memory) of `pid` in KiB.
pub fn hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    meminfo_field(&status, "VmHWM:")
}

/// Resets this process's VmHWM to its current resident memory (proc(5), clear_refs "5");
/// false where the kernel does not allow it.
pub fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn meminfo_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// System-wide kernel memory that grows with sockets.
pub struct Kernel {
    slab_kib: Option<u64>,
}

impl Kernel {
    pub fn read() -> Self {
        let slab_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| meminfo_field(&m, "Slab:"));
        Kernel { slab_kib }
    }

    /// KiB the slab grew by since `before` (other processes add noise).
    pub fn since(&self, before: &Kernel) -> Option<i64> {
        Some(self.slab_kib? as i64 - before.slab_kib? as i64)
    }
}

/// The hard open-file limit: what each fleet process raises its own limit to.
pub fn open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed in.
    match unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } {
        0 => limit.rlim_max,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_field_of_proc_status() {
        let text = "Name:\treanimator\nVmPeak:\t  1000 kB\nVmRSS:\t   5488 kB\n";
        assert_eq!(meminfo_field(text, "VmRSS:"), Some(5488));
        assert_eq!(meminfo_field(text, "VmSwap:"), None);
    }

    #[test]
    fn reads_its_own_cpu_time() {
        let me = std::process::id();
        let before = cpu_time(me).unwrap();
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::black_box(spin.elapsed());
        }
        assert!(cpu_time(me).unwrap() > before);
    }

    #[test]
    fn finds_its_own_parent_and_memory() {
        let me = std::process::id();
        assert!(rss_kib(me).is_some_and(|kib| kib > 0));
        let parent = parent_of(me).unwrap();
        assert!(children_of(parent).contains(&me));
    }
}
