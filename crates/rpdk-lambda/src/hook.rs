//! Hooks on Lambda: the hooks a binary serves, and how their stack and change-set documents
//! are read from their presigned `payload` URLs.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rpdk::hook::{HookDispatcher, HookHandler, HookProgressEvent, PayloadFetcher};
use rpdk::schema::SchemaError;
use serde_json::Value;

/// A hook a binary can serve: any [`HookHandler`].
pub(crate) trait ServeHook: Send + Sync {
    /// `Service::Hook`, the type name without its namespace.
    fn type_key(&self) -> String;
    /// Handles one hook request.
    fn handle(
        &self,
        payload: Value,
        deadline: Option<std::time::SystemTime>,
    ) -> Pin<Box<dyn Future<Output = HookProgressEvent> + Send + '_>>;
    /// The hook's schema under `namespace`.
    fn schema(&self, namespace: &str) -> Result<Value, SchemaError>;
    /// The configuration Lambda hook requests are checked under.
    fn set_lambda_hook_configuration(&mut self, configuration: Value);
}

impl<H: HookHandler> ServeHook for HookDispatcher<H> {
    fn type_key(&self) -> String {
        let metadata = self.metadata();
        format!("{}::{}", metadata.service, metadata.hook)
    }

    fn handle(
        &self,
        payload: Value,
        deadline: Option<std::time::SystemTime>,
    ) -> Pin<Box<dyn Future<Output = HookProgressEvent> + Send + '_>> {
        Box::pin(HookDispatcher::handle(self, payload, deadline))
    }

    fn schema(&self, namespace: &str) -> Result<Value, SchemaError> {
        HookDispatcher::schema(self, namespace)
    }

    fn set_lambda_hook_configuration(&mut self, configuration: Value) {
        HookDispatcher::set_lambda_hook_configuration(self, configuration);
    }
}

/// How long one read of a payload document may take, and how many tries it gets.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const FETCH_TRIES: u32 = 3;

/// Reads a payload document over HTTPS: a GET of the presigned URL, tried again on a server
/// error or a lost connection, the answer read as JSON.
pub(crate) struct HttpsFetcher {
    client: reqwest::Client,
}

impl HttpsFetcher {
    pub(crate) fn new() -> Self {
        Self { client: reqwest::Client::builder().timeout(FETCH_TIMEOUT).build().unwrap_or_default() }
    }

    async fn fetch_once(&self, url: &str) -> Result<Value, (bool, String)> {
        // reqwest's errors name the URL, whose query is a signature: they are shown without it.
        let response = self.client.get(url).send().await.map_err(|e| (true, e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err((status.is_server_error(), format!("the server answered {status}")));
        }
        response.json::<Value>().await.map_err(|e| (false, format!("not a JSON document ({})", e.without_url())))
    }
}

impl PayloadFetcher for HttpsFetcher {
    fn fetch<'a>(&'a self, url: &'a str) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send + 'a>> {
        Box::pin(async move {
            let mut tries = 1;
            loop {
                match self.fetch_once(url).await {
                    Ok(document) => return Ok(document),
                    Err((true, _)) if tries < FETCH_TRIES => {
                        tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await;
                        tries += 1;
                    }
                    Err((_, why)) => return Err(why),
                }
            }
        })
    }
}
