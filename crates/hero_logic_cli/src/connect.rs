//! Finding the daemon and calling it: the `--socket`/`--data-dir` flags every client command
//! shares, and a thin wrapper over the API client that turns its errors into [`CliError`]s.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use hero_logic_api::params::{PlayResumeParams, PlaySidParams, PlayTree, PlayWaitParams};
use hero_logic_api::service::ServiceConfig;
use hero_logic_api::{methods, Play, RpcClient};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::CliError;

/// Where the daemon listens. Same precedence as every binary: flag > environment > service.toml.
#[derive(Debug, Clone, Default, Args)]
pub struct DaemonArgs {
    /// JSON-RPC socket of the daemon [default: <data dir>/hero_logic.sock; env HERO_LOGIC_SOCKET]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Data dir of the daemon, to find its socket [default: ~/.hero_logic; env HERO_LOGIC_HOME]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DaemonArgs {
    /// Takes from `global` (the flags given before the subcommand) what was not given here.
    pub fn fill_from(&mut self, global: &DaemonArgs) {
        if self.socket.is_none() {
            self.socket.clone_from(&global.socket);
        }
        if self.data_dir.is_none() {
            self.data_dir.clone_from(&global.data_dir);
        }
    }

    pub fn socket_path(&self) -> PathBuf {
        let config = ServiceConfig::defaults();
        let data_dir = config.data_dir(self.data_dir.as_deref());
        config.socket(self.socket.as_deref(), &data_dir)
    }
}

/// A daemon to call. Holds no connection: the client opens one per call, so a daemon
/// restarted between two calls is simply found again.
#[derive(Debug)]
pub struct Daemon {
    client: RpcClient,
}

impl Daemon {
    pub fn connect(args: &DaemonArgs) -> Daemon {
        Daemon::at(&args.socket_path())
    }

    pub fn at(socket: &Path) -> Daemon {
        Daemon { client: RpcClient::new(socket) }
    }

    pub fn socket(&self) -> &Path {
        self.client.socket()
    }

    /// Calls `method` with by-name `params`.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: impl Serialize) -> Result<T, CliError> {
        let params = serde_json::to_value(params)
            .map_err(|e| CliError::Failed(format!("cannot encode the parameters of {method}: {e}")))?;
        self.client.call(method, params).await.map_err(|e| CliError::from_client(method, e))
    }

    pub async fn tree(&self, play_sid: &str) -> Result<PlayTree, CliError> {
        self.call(methods::PLAY_TREE, PlaySidParams { play_sid: play_sid.to_string() }).await
    }

    /// Waits up to `timeout` for the Play to end or to ask a person; returns it either way.
    pub async fn wait(&self, play_sid: &str, timeout: Duration) -> Result<Play, CliError> {
        let params = PlayWaitParams { play_sid: play_sid.to_string(), timeout_ms: Some(timeout.as_millis() as u64) };
        self.call(methods::PLAY_WAIT, params).await
    }

    /// Waits as long as it takes for the Play to end or to ask a person.
    pub async fn wait_settled(&self, play_sid: &str) -> Result<Play, CliError> {
        loop {
            // Ten minutes is the most one play_wait may wait; ask again until it is over.
            let play = self.wait(play_sid, Duration::from_secs(600)).await?;
            if settled(&play) {
                return Ok(play);
            }
        }
    }

    pub async fn status(&self, play_sid: &str) -> Result<Play, CliError> {
        self.call(methods::PLAY_STATUS, PlaySidParams { play_sid: play_sid.to_string() }).await
    }

    /// The top-level Play of the run `play_sid` belongs to.
    pub async fn root_of(&self, play_sid: &str) -> Result<Play, CliError> {
        let mut play = self.status(play_sid).await?;
        while !play.parent_play_sid.is_empty() {
            play = self.status(&play.parent_play_sid).await?;
        }
        Ok(play)
    }

    /// Answers question `resume_id` of the run `play_sid` belongs to; returns the Play that asked.
    pub async fn resume(&self, play_sid: &str, resume_id: &str, payload: serde_json::Value) -> Result<Play, CliError> {
        let params = PlayResumeParams { play_sid: play_sid.to_string(), resume_id: resume_id.to_string(), payload };
        self.call(methods::PLAY_RESUME, params).await
    }

    pub async fn cancel(&self, play_sid: &str) -> Result<Play, CliError> {
        self.call(methods::PLAY_CANCEL, PlaySidParams { play_sid: play_sid.to_string() }).await
    }
}

/// Whether watching a Play can stop: it ended, or it waits for a person (which may take days).
pub fn settled(play: &Play) -> bool {
    play.status.is_terminal() || play.status == hero_logic_api::PlayStatus::AwaitingResume
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_flag_wins() {
        let args = DaemonArgs { socket: Some("/s.sock".into()), data_dir: Some("/d".into()) };
        assert_eq!(args.socket_path(), PathBuf::from("/s.sock"));
    }

    #[test]
    fn data_dir_flag_places_the_socket() {
        // Only meaningful when the environment does not name a socket itself.
        if std::env::var_os(hero_logic_api::service::ENV_SOCKET).is_some() {
            return;
        }
        let args = DaemonArgs { socket: None, data_dir: Some("/d".into()) };
        assert_eq!(args.socket_path(), PathBuf::from("/d/hero_logic.sock"));
    }
}
