//! The intake router of a daemon, alone: reads the store's intake stream
//! with every dialplan known, the default calling window, until stopped.

use std::sync::Arc;
use std::time::Duration;

use sampark::intake::IntakeRouter;
use sampark::store::Store;
use sampark::telemetry::Metrics;
use tokio_util::sync::CancellationToken;

/// A router running on its own task.
pub struct RunningRouter {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RunningRouter {
    pub fn start(store: Arc<dyn Store>) -> RunningRouter {
        let cancel = CancellationToken::new();
        let router = IntakeRouter::new(
            store,
            Arc::new(|_: &str| true),
            "router".into(),
            Duration::from_secs(60),
            Arc::new(Metrics::new()),
            sampark::policy::CallingWindow::default(),
        );
        let task = tokio::spawn(router.run(cancel.clone()));
        RunningRouter { cancel, task }
    }

    /// Stops it and waits until it has.
    pub async fn stop(self) {
        self.cancel.cancel();
        self.task.await.unwrap();
    }
}
