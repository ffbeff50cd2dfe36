//! Where guest code runs once it has yielded: a tokio runtime of its own,
//! apart from the API's, and a guard that stops a guest task whose caller
//! went away.

/// Aborts a guest task when its caller stops waiting for it.
pub struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The threads guests run on: a tokio runtime of their own, shut down in
/// the background when the last handle goes (it may go inside async code).
pub struct GuestThreads(Option<tokio::runtime::Runtime>);

impl GuestThreads {
    pub fn new(threads: usize) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("funnel-guest")
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("starting {threads} guest threads: {e}"))?;
        Ok(GuestThreads(Some(runtime)))
    }

    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.0 {
            Some(runtime) => runtime.spawn(future),
            // Only reachable during drop.
            None => tokio::spawn(future),
        }
    }
}

impl Drop for GuestThreads {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
