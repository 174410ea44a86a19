//! One set of SDK clients per (profile, region), built from aws-config's credential chain.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_types::region::Region;

/// Where one slice of the fleet lives. `profile: None` means the SDK's own default resolution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub profile: Option<String>,
    pub region: String,
}

impl Target {
    /// The profile as shown to people: the explicit one, else what the SDK will pick.
    pub fn profile_label(&self) -> String {
        self.profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
            .unwrap_or_else(|| "default".to_owned())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.profile_label(), self.region)
    }
}

#[derive(Clone, Default)]
pub struct ClientOptions {
    pub endpoint_url: Option<String>,
    /// Fixed credentials instead of the chain: the demo's simulator needs no AWS account.
    pub static_credentials: Option<(String, String)>,
    /// Attempts per request, throttling included (the SDK's standard retry mode).
    pub max_attempts: u32,
}

/// The secret key of `static_credentials` prints as `***` (a `{:?}` in a log or a panic message
/// must not carry it).
impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("endpoint_url", &self.endpoint_url)
            .field(
                "static_credentials",
                &self
                    .static_credentials
                    .as_ref()
                    .map(|(key, _)| (key, "***")),
            )
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl ClientOptions {
    pub fn new(endpoint_url: Option<String>) -> Self {
        ClientOptions {
            endpoint_url,
            static_credentials: None,
            max_attempts: 4,
        }
    }
}

/// Requests sent and retried, counted by an SDK interceptor so throttling is visible, not hidden.
#[derive(Debug, Default)]
pub struct CallStats {
    attempts: AtomicU64,
    retries: AtomicU64,
}

impl CallStats {
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct CountAttempts(Arc<CallStats>);

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "fleetdeck::CountAttempts"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.attempts.fetch_add(1, Ordering::Relaxed);
        if cfg
            .load::<RequestAttempts>()
            .is_some_and(|a| a.attempts() > 1)
        {
            self.0.retries.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct Clients {
    pub target: Target,
    pub ec2: aws_sdk_ec2::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Caller identity for the audit log.
    pub sts: aws_sdk_sts::Client,
    pub stats: Arc<CallStats>,
    /// The credentials the clients sign with; the data channel signs its WebSocket upgrade too.
    pub credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
    /// The endpoint used, for error messages (`None`: AWS's own regional endpoints).
    pub endpoint_url: Option<String>,
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clients")
            .field("target", &self.target)
            .field("endpoint_url", &self.endpoint_url)
            .finish_non_exhaustive()
    }
}

impl Clients {
    pub async fn new(target: Target, options: &ClientOptions, stats: Arc<CallStats>) -> Clients {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(target.region.clone()))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(options.max_attempts.max(1))
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(profile) = &target.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some((key, secret)) = &options.static_credentials {
            loader = loader.credentials_provider(Credentials::new(
                key.clone(),
                secret.clone(),
                None,
                None,
                "fleetdeck-static",
            ));
        }
        let shared = loader.load().await;
        let counter = CountAttempts(stats.clone());
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&shared)
                .interceptor(CountAttempts(stats.clone()))
                .build(),
        );
        let ssm = aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(&shared)
                .interceptor(CountAttempts(stats.clone()))
                .build(),
        );
        let logs = aws_sdk_cloudwatchlogs::Client::from_conf(
            aws_sdk_cloudwatchlogs::config::Builder::from(&shared)
                .interceptor(counter)
                .build(),
        );
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&shared)
                .interceptor(CountAttempts(stats.clone()))
                .build(),
        );
        Clients {
            target,
            ec2,
            ssm,
            logs,
            sts,
            stats,
            credentials: shared.credentials_provider(),
            endpoint_url: options.endpoint_url.clone(),
        }
    }

    /// The same clients, also counting their requests into `stats` (one run's own count, shown
    /// live while it runs); the counters they had keep counting too.
    pub fn counted(&self, stats: Arc<CallStats>) -> Clients {
        Clients {
            ssm: aws_sdk_ssm::Client::from_conf(
                self.ssm
                    .config()
                    .to_builder()
                    .interceptor(CountAttempts(stats.clone()))
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                self.logs
                    .config()
                    .to_builder()
                    .interceptor(CountAttempts(stats.clone()))
                    .build(),
            ),
            sts: aws_sdk_sts::Client::from_conf(
                self.sts
                    .config()
                    .to_builder()
                    .interceptor(CountAttempts(stats.clone()))
                    .build(),
            ),
            stats,
            ..self.clone()
        }
    }

    /// The host a request for `service` goes to, as a person would look for it.
    pub fn endpoint_for(&self, service: &str) -> String {
        self.endpoint_url
            .clone()
            .unwrap_or_else(|| format!("https://{service}.{}.amazonaws.com", self.target.region))
    }
}

/// Builds clients for every target concurrently (profile files are read once per target).
pub async fn build_all(
    targets: &[Target],
    options: &ClientOptions,
    stats: Arc<CallStats>,
) -> Vec<Clients> {
    futures_util::future::join_all(
        targets
            .iter()
            .map(|t| Clients::new(t.clone(), options, stats.clone())),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_static_secret_key() {
        let mut options = ClientOptions::new(None);
        options.static_credentials = Some(("AKIDPLAIN".into(), "the-secret-key".into()));
        let text = format!("{options:?}");
        assert!(text.contains("AKIDPLAIN"), "{text}");
        assert!(!text.contains("the-secret-key"), "{text}");
    }
}
