//! Starting a real anvil (Foundry's dev node) for tests and benchmarks that compare ply's
//! embedded L1 with it. The binary comes from the npm package `@foundry-rs/anvil` that the
//! repository's `package.json` pins (`npm ci`).

use crate::{Error, Result};
use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Where `npm ci` puts the anvil binary, relative to the repository root.
pub const ANVIL_NPM_PATH: &str = "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

/// Finds the anvil binary: `$PLY_ANVIL`, then [`ANVIL_NPM_PATH`] under `root` and its parents.
pub fn find_anvil(root: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PLY_ANVIL") {
        return Some(PathBuf::from(path));
    }
    root.ancestors().map(|dir| dir.join(ANVIL_NPM_PATH)).find(|p| p.is_file())
}

/// A free TCP port on 127.0.0.1 (bound and released; a race with another process is possible
/// but harmless in tests, which then fail loudly).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::Rpc(format!("no free loopback port: {e}")))?;
    Ok(listener.local_addr().map_err(|e| Error::Rpc(e.to_string()))?.port())
}

/// A running anvil on a loopback port; killed when dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    addr: SocketAddr,
}

impl Anvil {
    /// Starts anvil for a test suite: the binary from `$PLY_ANVIL` or `npm ci` (searched from
    /// `repo_root` up). Without it the answer is an error that says to run `npm ci`, unless
    /// `PLY_SKIP_ANVIL=1`, which turns a missing anvil into `Ok(None)` (the caller skips).
    /// A port taken by another process between the look and anvil's bind is retried.
    pub fn for_tests(repo_root: &Path) -> Result<Option<Self>> {
        let Some(binary) = find_anvil(repo_root) else {
            if std::env::var("PLY_SKIP_ANVIL").is_ok_and(|v| v == "1") {
                eprintln!("skipping an anvil test: anvil is not installed (PLY_SKIP_ANVIL=1)");
                return Ok(None);
            }
            return Err(Error::Rpc(format!(
                "anvil not found under {}: run npm ci in the repository root (or set \
                 PLY_SKIP_ANVIL=1 to skip the anvil tests)",
                repo_root.display()
            )));
        };
        let mut last = None;
        for _ in 0..5 {
            match Self::spawn(&binary, &[]) {
                Ok(anvil) => return Ok(Some(anvil)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("five attempts"))
    }

    /// Starts `binary` on a free loopback port with `extra_args` and waits until it accepts
    /// connections.
    pub fn spawn(binary: &Path, extra_args: &[&str]) -> Result<Self> {
        let port = free_port()?;
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--silent"])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::Rpc(format!("cannot start {}: {e}", binary.display())))?;
        let mut anvil = Self { child, addr: SocketAddr::from(([127, 0, 0, 1], port)) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(anvil.addr).is_err() {
            if let Ok(Some(status)) = anvil.child.try_wait() {
                return Err(Error::Rpc(format!("anvil exited at start: {status}")));
            }
            if Instant::now() > deadline {
                return Err(Error::Rpc("anvil did not open its port within 20 s".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(anvil)
    }

    /// The HTTP JSON-RPC endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address anvil listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
