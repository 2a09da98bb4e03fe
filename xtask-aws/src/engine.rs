//! The local engines the pipeline runs on: LocalStack, the reference, and
//! MiniStack, the second. `--engine` picks one for `e2e`, `load`, `console`
//! and `engines`.

use anyhow::Result;
use aws_config::SdkConfig;

use crate::deploy::{Deployment, Target};
use crate::localstack::{self, LocalStack, LocalStackImage};
use crate::ministack::{self, MiniStack};

pub use xtask::cli::Engine;

/// What has to happen before the async runtime starts: choosing (and
/// perhaps building) the LocalStack image.
pub fn prepare(engine: Engine) -> Result<Prepared> {
    Ok(match engine {
        Engine::Localstack => Prepared::LocalStack(localstack::select_image()?),
        Engine::Ministack => Prepared::MiniStack,
    })
}

/// An engine ready to start.
#[derive(Debug, Clone)]
pub enum Prepared {
    LocalStack(LocalStackImage),
    MiniStack,
}

impl Prepared {
    pub async fn start(self) -> Result<Running> {
        Ok(match self {
            Prepared::LocalStack(image) => {
                Running::LocalStack(Box::new(LocalStack::start(image).await?))
            }
            Prepared::MiniStack => Running::MiniStack(MiniStack::start().await?),
        })
    }
}

/// A running engine; dropping it stops it.
#[derive(Debug)]
pub enum Running {
    LocalStack(Box<LocalStack>),
    MiniStack(MiniStack),
}

impl Running {
    pub fn engine(&self) -> Engine {
        match self {
            Running::LocalStack(_) => Engine::Localstack,
            Running::MiniStack(_) => Engine::Ministack,
        }
    }

    pub fn endpoint(&self) -> &str {
        match self {
            Running::LocalStack(l) => &l.endpoint,
            Running::MiniStack(m) => &m.endpoint,
        }
    }

    pub fn target(&self) -> Target {
        localstack::target(self.endpoint())
    }

    /// The engine as reports name it.
    pub fn describe(&self) -> String {
        match self {
            Running::LocalStack(l) => l.image.to_string(),
            Running::MiniStack(_) => format!(
                "MiniStack {} (host processes on 127.0.0.1, from the PyPI lock)",
                ministack::VERSION
            ),
        }
    }

    /// Where `DetectLabels` answers come from, said plainly.
    pub fn labels_source(&self) -> &'static str {
        match self {
            Running::LocalStack(_) => localstack::LABELS_SOURCE,
            Running::MiniStack(_) => ministack::LABELS_SOURCE,
        }
    }

    /// What the engine needs once the stack is deployed.
    pub async fn prepare_deployment(
        &self,
        config: &SdkConfig,
        deployment: &Deployment,
    ) -> Result<()> {
        match self {
            Running::LocalStack(_) => Ok(()),
            Running::MiniStack(m) => m.mock_labels(config, deployment).await,
        }
    }

    /// Checks at the end of a run: MiniStack still listens on loopback only.
    pub fn check(&self) -> Result<()> {
        match self {
            Running::LocalStack(_) => Ok(()),
            Running::MiniStack(m) => m.check_loopback_only(),
        }
    }

    /// The engine's log, for failure reports.
    pub async fn logs(&self) -> String {
        match self {
            Running::LocalStack(l) => l.logs().await,
            Running::MiniStack(m) => m.logs(),
        }
    }
}
