//! fleetdeck's inventory against moto's server, a peer no one here wrote: the instances the test
//! creates, and only those, come out of `list --output json` with their tags.

mod common;

use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use common::{Env, Moto, run};
use serde_json::Value;

async fn ec2_client(endpoint: &str) -> aws_sdk_ec2::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_ec2::Client::new(&config)
}

async fn launch(client: &aws_sdk_ec2::Client, name: &str, env: &str, count: i32) -> Vec<String> {
    let out = client
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(InstanceType::T3Micro)
        .min_count(count)
        .max_count(count)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("Name").value(name).build())
                .tags(Tag::builder().key("Env").value(env).build())
                .build(),
        )
        .send()
        .await
        .expect("moto RunInstances");
    out.instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_owned))
        .collect()
}

#[test]
fn list_shows_exactly_the_instances_moto_holds() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (web, db) = runtime.block_on(async {
        let client = ec2_client(&moto.endpoint).await;
        (
            launch(&client, "web-moto", "prod", 3).await,
            launch(&client, "db-moto", "staging", 1).await,
        )
    });

    let env = Env::new();
    let r = run(env.cmd().args([
        "list",
        "--region",
        "eu-west-1",
        "--endpoint-url",
        &moto.endpoint,
        "--output",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("JSON array");
    let mut ids: Vec<&str> = rows
        .iter()
        .map(|row| row["instance_id"].as_str().expect("instance_id"))
        .collect();
    ids.sort_unstable();
    let mut expected: Vec<&str> = web.iter().chain(&db).map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);

    for row in &rows {
        let id = row["instance_id"].as_str().unwrap_or_default();
        let (name, tag_env) = if db.iter().any(|d| d == id) {
            ("db-moto", "staging")
        } else {
            ("web-moto", "prod")
        };
        assert_eq!(row["name"], name);
        assert_eq!(row["tags"]["Env"], tag_env);
        assert_eq!(row["tags"]["Name"], name);
        assert_eq!(row["region"], "eu-west-1");
        assert_eq!(row["state"], "running");
        assert_eq!(row["managed"], false, "moto has no SSM record of {id}");
        assert!(row["private_ip"].is_string());
    }

    // moto does not implement DescribeInstanceInformation: the instances are still listed, and
    // the user is told why agent health is unknown rather than shown a made-up status.
    assert!(rows.iter().all(|row| row["ping_status"] == "Unknown"));
    assert!(
        r.stderr.contains("ssm:DescribeInstanceInformation"),
        "{}",
        r.stderr
    );

    // The query language runs on moto's data as on any other.
    let r = run(env.cmd().args([
        "list",
        "--region",
        "eu-west-1",
        "--endpoint-url",
        &moto.endpoint,
        "--output",
        "csv",
        "tag:Env=staging",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(lines[0].starts_with("instance_id,name,profile,region,state,ping_status"));
    assert!(lines[1].starts_with(&format!(
        "{},db-moto,default,eu-west-1,running,Unknown",
        db[0]
    )));
}
