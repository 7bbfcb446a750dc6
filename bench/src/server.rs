//! The real server, `kumanet serve`, as a separate process on 127.0.0.1, and its memory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::R;

pub struct Server {
    child: Child,
    pid: u32,
    pub port: u16,
    log: PathBuf,
}

/// Resident and peak resident memory of a process, in KiB (`VmRSS`, `VmHWM`).
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl Server {
    pub async fn start(bin: &Path, data_dir: &Path, database_url: &str, key_file: &Path) -> R<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = data_dir.join("server.log");
        let mut child = Command::new(bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .env("KUMANET_DATABASE_URL", database_url)
            .env("KUMANET_AUDIT_KEY_FILE", key_file)
            .env("KUMANET_COOKIE_SECURE", "false")
            .env("KUMANET_LOGIN_ATTEMPTS_PER_MINUTE", "100000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let pid = child.id().ok_or("the server exited at once")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await? {
                if line.contains("listening") {
                    return Ok::<bool, std::io::Error>(true);
                }
            }
            Ok(false)
        })
        .await;
        if !matches!(ready, Ok(Ok(true))) {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: String =
                tail.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
            return Err(format!("the server did not say it was listening; its log ends:\n{tail}").into());
        }
        // Keep reading what it prints, so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { child, pid, port, log })
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn memory(&self) -> R<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let field = |name: &str| -> R<u64> {
            let line = status.lines().find(|l| l.starts_with(name)).ok_or_else(|| format!("no {name} in status"))?;
            Ok(line.split_whitespace().nth(1).ok_or("empty field")?.parse()?)
        };
        Ok(Memory { rss_kib: field("VmRSS:")?, hwm_kib: field("VmHWM:")? })
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// The soft limit on open files of this process (the server inherits it).
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
