//! The real AWS SDK clients against the simulator, over a real loopback socket.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use aws_sdk_ssm::types::{InstanceInformationStringFilter, PingStatus as SdkPingStatus};
use fleetdeck::sim::{Health, SimInstance, SimOptions, Simulator};

async fn config(sim: &Simulator, region: &str, retry: RetryConfig) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(sim.endpoint_url())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .retry_config(retry)
        .load()
        .await
}

async fn start(faults: &str) -> Simulator {
    Simulator::start(SimOptions {
        faults: faults.parse().expect("valid fault spec"),
        seed: 42,
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts")
}

fn ids<'a>(it: impl Iterator<Item = &'a SimInstance>) -> BTreeSet<String> {
    it.map(|i| i.id.clone()).collect()
}

async fn ec2_ids(client: &aws_sdk_ec2::Client, filters: Vec<Filter>) -> Vec<String> {
    let reservations = client
        .describe_instances()
        .set_filters(Some(filters))
        .max_results(5)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("DescribeInstances pages");
    reservations
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect()
}

async fn ssm_ids(client: &aws_sdk_ssm::Client) -> Vec<String> {
    let infos = client
        .describe_instance_information()
        .max_results(5)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("DescribeInstanceInformation pages");
    infos
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect()
}

fn assert_unique_and_equal(listed: &[String], expected: &BTreeSet<String>, what: &str) {
    let set: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(set.len(), listed.len(), "{what}: duplicates in {listed:?}");
    assert_eq!(&set, expected, "{what}");
}

#[tokio::test]
async fn sim_paginators_list_the_fleet_in_every_region() {
    let sim = start("").await;
    for region in sim.regions().to_vec() {
        let conf = config(&sim, &region, RetryConfig::standard()).await;
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        let ssm = aws_sdk_ssm::Client::new(&conf);
        let in_region: Vec<&SimInstance> =
            sim.fleet().iter().filter(|i| i.region == region).collect();

        let listed = ec2_ids(&ec2, Vec::new()).await;
        let expected = ids(in_region.iter().copied().filter(|i| i.ec2.is_some()));
        assert_unique_and_equal(&listed, &expected, "EC2 ids");

        let listed = ssm_ids(&ssm).await;
        let expected = ids(in_region.iter().copied().filter(|i| i.ssm.is_some()));
        assert_unique_and_equal(&listed, &expected, "SSM ids");

        let prod_web = vec![
            Filter::builder().name("tag:Env").values("prod").build(),
            Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build(),
        ];
        let listed = ec2_ids(&ec2, prod_web).await;
        let expected = ids(in_region.iter().copied().filter(|i| {
            i.tag("Env") == Some("prod") && !matches!(i.health, Health::Stopped | Health::Hybrid)
        }));
        assert_unique_and_equal(&listed, &expected, "EC2 prod running");
    }
}

#[tokio::test]
async fn sim_instance_information_fields_match_the_oracle() {
    let sim = start("").await;
    let conf = config(&sim, "us-east-1", RetryConfig::standard()).await;
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let infos = ssm
        .describe_instance_information()
        .filters(
            InstanceInformationStringFilter::builder()
                .key("PingStatus")
                .values("ConnectionLost")
                .values("Online")
                .build()
                .expect("key and values set"),
        )
        .max_results(50)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("pages");
    assert!(!infos.is_empty());
    for info in &infos {
        let id = info.instance_id().expect("id");
        let inst = sim.fleet().iter().find(|i| i.id == id).expect("in fleet");
        let rec = inst.ssm.as_ref().expect("managed");
        assert_eq!(
            info.ping_status().map(|p| p.as_str()),
            Some(rec.ping_status.as_str())
        );
        assert_ne!(info.ping_status(), Some(&SdkPingStatus::Inactive));
        assert_eq!(info.is_latest_version(), Some(rec.is_latest_version));
        assert_eq!(info.agent_version(), Some(rec.agent_version.as_str()));
        let ping = info.last_ping_date_time().expect("ping time");
        assert_eq!(
            ping.to_millis().expect("in range"),
            rec.last_ping.timestamp_millis()
        );
        assert_eq!(
            info.platform_type().map(|p| p.as_str()),
            Some(inst.platform.platform_type())
        );
        let hybrid = id.starts_with("mi-");
        assert_eq!(
            info.resource_type().map(|r| r.as_str()),
            Some(if hybrid {
                "ManagedInstance"
            } else {
                "EC2Instance"
            })
        );
        assert_eq!(info.iam_role().is_some(), hybrid);
    }
}

#[tokio::test]
async fn sim_errors_arrive_as_typed_sdk_errors() {
    let sim = start("").await;
    let conf = config(&sim, "us-east-1", RetryConfig::standard()).await;

    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let err = ec2
        .describe_instances()
        .instance_ids("i-0123456789abcdef0")
        .send()
        .await
        .expect_err("unknown id");
    assert_eq!(err.code(), Some("InvalidInstanceID.NotFound"), "{err:?}");
    let err = ec2
        .describe_instances()
        .max_results(3)
        .send()
        .await
        .expect_err("too small");
    assert_eq!(err.code(), Some("InvalidParameterValue"), "{err:?}");

    let ssm = aws_sdk_ssm::Client::new(&conf);
    let err = ssm
        .describe_instance_information()
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("bad token")
        .into_service_error();
    assert!(err.is_invalid_next_token(), "{err:?}");
    let err = ssm
        .describe_instance_information()
        .filters(
            InstanceInformationStringFilter::builder()
                .key("Colour")
                .values("blue")
                .build()
                .expect("key and values set"),
        )
        .send()
        .await
        .expect_err("bad key")
        .into_service_error();
    assert!(err.is_invalid_filter_key(), "{err:?}");
    let err = ssm
        .describe_instance_information()
        .max_results(51)
        .send()
        .await
        .expect_err("too large");
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");

    let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
    let err = logs
        .create_log_stream()
        .log_group_name("/missing")
        .log_stream_name("s")
        .send()
        .await
        .expect_err("no group")
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    // A region the simulator does not serve is refused, naming the region.
    let elsewhere = config(&sim, "ap-south-1", RetryConfig::standard()).await;
    let err = aws_sdk_ssm::Client::new(&elsewhere)
        .describe_instance_information()
        .send()
        .await
        .expect_err("unknown region");
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
    assert!(
        err.message().unwrap_or("").contains("ap-south-1"),
        "{err:?}"
    );
}

#[tokio::test]
async fn sim_tags_of_hybrid_nodes_come_from_list_tags_for_resource() {
    use aws_sdk_ssm::types::ResourceTypeForTagging;
    let sim = start("").await;
    let hybrid = sim
        .fleet()
        .iter()
        .find(|i| i.health == Health::Hybrid)
        .expect("the seeded fleet has hybrid nodes")
        .clone();
    let conf = config(&sim, &hybrid.region, RetryConfig::standard()).await;
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let out = ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::ManagedInstance)
        .resource_id(&hybrid.id)
        .send()
        .await
        .expect("tags of a hybrid node");
    let tags: Vec<(String, String)> = out
        .tag_list()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    assert_eq!(tags, hybrid.tags);

    // EC2 instances are tagged in EC2: SSM answers as it does for an id it does not know.
    let ec2_instance = sim
        .fleet()
        .iter()
        .find(|i| i.region == hybrid.region && i.ec2.is_some() && i.ssm.is_some())
        .expect("a managed EC2 instance");
    for id in [ec2_instance.id.as_str(), "mi-0123456789abcdef0"] {
        let err = ssm
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::ManagedInstance)
            .resource_id(id)
            .send()
            .await
            .expect_err("not a hybrid node")
            .into_service_error();
        assert!(err.is_invalid_resource_id(), "{id}: {err:?}");
    }
}

#[tokio::test]
async fn sim_sts_names_the_caller_as_sessions_name_their_owner() {
    use aws_sdk_sts::error::ProvideErrorMetadata as _;
    let sim = start("").await;
    let conf = config(&sim, "us-east-1", RetryConfig::standard()).await;
    let sts = aws_sdk_sts::Client::new(&conf);
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .expect("caller identity");
    assert_eq!(me.arn(), Some("arn:aws:iam::123456789012:user/testing"));
    assert_eq!(me.account(), Some("123456789012"));
    assert_eq!(sim.stats().calls("sts", "GetCallerIdentity"), 1);

    let err = sts
        .get_session_token()
        .send()
        .await
        .expect_err("only GetCallerIdentity is served");
    assert_eq!(err.code(), Some("InvalidAction"), "{err:?}");
}

#[tokio::test]
async fn sim_logs_put_then_get_in_order() {
    let sim = start("").await;
    let conf = config(&sim, "eu-west-1", RetryConfig::standard()).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
    logs.create_log_group()
        .log_group_name("/fleetdeck/sessions")
        .send()
        .await
        .expect("group");
    let dup = logs
        .create_log_group()
        .log_group_name("/fleetdeck/sessions")
        .send()
        .await
        .expect_err("exists")
        .into_service_error();
    assert!(dup.is_resource_already_exists_exception(), "{dup:?}");
    logs.create_log_stream()
        .log_group_name("/fleetdeck/sessions")
        .log_stream_name("ana-0123")
        .send()
        .await
        .expect("stream");
    let now = chrono::Utc::now().timestamp_millis();
    let events: Vec<InputLogEvent> = (0..5)
        .map(|i| {
            InputLogEvent::builder()
                .timestamp(now - 50 + i)
                .message(format!("line {i}"))
                .build()
                .expect("timestamp and message set")
        })
        .collect();
    let put = logs
        .put_log_events()
        .log_group_name("/fleetdeck/sessions")
        .log_stream_name("ana-0123")
        .set_log_events(Some(events))
        .send()
        .await
        .expect("put");
    assert!(put.rejected_log_events_info().is_none());

    let got = logs
        .get_log_events()
        .log_group_name("/fleetdeck/sessions")
        .log_stream_name("ana-0123")
        .start_from_head(true)
        .limit(3)
        .send()
        .await
        .expect("get");
    let messages: Vec<&str> = got.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(messages, ["line 0", "line 1", "line 2"]);
    let forward = got.next_forward_token().expect("forward token").to_string();
    let rest = logs
        .get_log_events()
        .log_group_name("/fleetdeck/sessions")
        .log_stream_name("ana-0123")
        .start_from_head(true)
        .next_token(&forward)
        .send()
        .await
        .expect("get rest");
    let messages: Vec<&str> = rest.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(messages, ["line 3", "line 4"]);
    let end = rest.next_forward_token().expect("token").to_string();
    let again = logs
        .get_log_events()
        .log_group_name("/fleetdeck/sessions")
        .log_stream_name("ana-0123")
        .start_from_head(true)
        .next_token(&end)
        .send()
        .await
        .expect("at end");
    assert!(again.events().is_empty());
    assert_eq!(again.next_forward_token(), Some(end.as_str()));

    let err = logs
        .put_log_events()
        .log_group_name("/fleetdeck/sessions")
        .log_stream_name("nope")
        .log_events(
            InputLogEvent::builder()
                .timestamp(now)
                .message("x")
                .build()
                .expect("set"),
        )
        .send()
        .await
        .expect_err("no stream");
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn sim_throttled_simulator_still_completes_with_sdk_retries() {
    let sim = start("throttle=0.5").await;
    let retry = RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_millis(10));
    let conf = config(&sim, "us-east-1", retry).await;
    let in_region: Vec<&SimInstance> = sim
        .fleet()
        .iter()
        .filter(|i| i.region == "us-east-1")
        .collect();

    let listed = ec2_ids(&aws_sdk_ec2::Client::new(&conf), Vec::new()).await;
    let expected = ids(in_region.iter().copied().filter(|i| i.ec2.is_some()));
    assert_unique_and_equal(&listed, &expected, "EC2 ids under throttling");

    let listed = ssm_ids(&aws_sdk_ssm::Client::new(&conf)).await;
    let expected = ids(in_region.iter().copied().filter(|i| i.ssm.is_some()));
    assert_unique_and_equal(&listed, &expected, "SSM ids under throttling");

    let stats = sim.stats();
    assert!(
        stats.throttled("ec2", "DescribeInstances") > 0,
        "EC2 was never throttled: {stats:?}"
    );
    assert!(
        stats.throttled("ssm", "DescribeInstanceInformation") > 0,
        "SSM was never throttled: {stats:?}"
    );
    assert!(stats.total_calls > stats.total_throttled);
}

#[tokio::test]
async fn sim_latency_fault_delays_every_call() {
    let sim = start("latency=150ms").await;
    let conf = config(&sim, "us-east-1", RetryConfig::disabled()).await;
    let ssm = aws_sdk_ssm::Client::new(&conf);
    for _ in 0..2 {
        let began = std::time::Instant::now();
        ssm.describe_sessions()
            .state(aws_sdk_ssm::types::SessionState::Active)
            .send()
            .await
            .expect("answered after the delay");
        assert!(began.elapsed() >= Duration::from_millis(150));
    }
    assert_eq!(sim.stats().calls("ssm", "DescribeSessions"), 2);
}
