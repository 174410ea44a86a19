//! The Run Command family through fleetdeck's AWS layer against moto's server, a peer no one here
//! wrote. moto answers SendCommand, ListCommands and GetCommandInvocation (empty output) but not
//! ListCommandInvocations: the executor must say so and carry on per host.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::types::InstanceType;
use common::Moto;
use fleetdeck::aws::{AwsError, CallStats, ClientOptions, Clients, Target};
use fleetdeck::model::{Instance, InstanceState, PingStatus, PlatformType};
use fleetdeck::run::{self, HostStatus, PollOptions, RunOptions, TargetSpec};

fn managed(id: &str) -> Instance {
    Instance {
        instance_id: id.into(),
        name: Some(format!("moto-{id}")),
        profile: "default".into(),
        region: "eu-west-1".into(),
        state: InstanceState::Running,
        ping_status: PingStatus::Online,
        last_ping: None,
        agent_version: None,
        agent_is_latest: None,
        platform_type: PlatformType::Linux,
        platform: "Linux".into(),
        private_ip: None,
        public_ip: None,
        instance_type: None,
        availability_zone: None,
        iam_instance_profile: None,
        computer_name: None,
        launch_time: None,
        tags: BTreeMap::new(),
        managed: true,
    }
}

#[test]
fn send_list_and_get_through_the_aws_layer_and_degrade_without_list_invocations() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let options = ClientOptions {
            endpoint_url: Some(moto.endpoint.clone()),
            static_credentials: Some(("testing".into(), "testing".into())),
            max_attempts: 2,
        };
        let clients = Clients::new(
            Target {
                profile: None,
                region: "eu-west-1".into(),
            },
            &options,
            Arc::new(CallStats::default()),
        )
        .await;
        let launched = clients
            .ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .instance_type(InstanceType::T3Micro)
            .min_count(2)
            .max_count(2)
            .send()
            .await
            .expect("moto RunInstances");
        let ids: Vec<String> = launched
            .instances()
            .iter()
            .filter_map(|i| i.instance_id().map(String::from))
            .collect();
        assert_eq!(ids.len(), 2);
        let inventory: Vec<Instance> = ids.iter().map(|id| managed(id)).collect();
        let plan = run::plan(
            &inventory,
            &TargetSpec::InstanceIds(ids.clone()),
            &RunOptions {
                commands: vec!["uptime".into()],
                comment: Some("fleetdeck moto test".into()),
                ..RunOptions::default()
            },
        )
        .expect("plan");

        let report = tokio::time::timeout(
            Duration::from_secs(60),
            run::exec::execute_quietly(
                &plan,
                std::slice::from_ref(&clients),
                &PollOptions {
                    initial: Duration::from_millis(100),
                    ..PollOptions::default()
                },
            ),
        )
        .await
        .expect("the run ends");

        // SendCommand worked and moto lists the command.
        let command_id = report.command_ids().first().cloned().expect("a command id");
        let listed = clients
            .ssm
            .list_commands()
            .command_id(&command_id)
            .send()
            .await
            .expect("moto ListCommands");
        let cmd = &listed.commands()[0];
        assert_eq!(cmd.document_name(), Some("AWS-RunShellScript"));
        assert_eq!(cmd.comment(), Some("fleetdeck moto test"));
        let mut sent_ids: Vec<String> = cmd.instance_ids().to_vec();
        sent_ids.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(sent_ids, want);

        // ListCommandInvocations failed clearly, and the run carried on per host.
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.contains("ListCommandInvocations is not available")
                    && n.contains("GetCommandInvocation instead")),
            "{:?}",
            report.notes
        );
        for h in &report.hosts {
            assert_eq!(h.status, HostStatus::Success, "{h:?}");
            assert_eq!(h.stdout, "", "moto returns empty output");
            assert_eq!(h.command_id.as_deref(), Some(command_id.as_str()));
        }

        // The error itself, as fleetdeck reports it, names the operation and the endpoint.
        let err = clients
            .ssm
            .list_command_invocations()
            .command_id(&command_id)
            .send()
            .await
            .expect_err("moto does not implement ListCommandInvocations");
        let err = AwsError::from_sdk(
            err,
            &clients.target,
            "ssm:ListCommandInvocations",
            clients.endpoint_for("ssm"),
        );
        let text = err.to_string();
        assert!(
            text.contains("ssm:ListCommandInvocations") && text.contains(&moto.endpoint),
            "{text}"
        );
        assert!(text.contains("may not implement"), "{text}");

        // GetCommandInvocation for a pair moto does not hold is an AWS error, not a crash.
        let missing = clients
            .ssm
            .get_command_invocation()
            .command_id(&command_id)
            .instance_id("i-00000000000000000")
            .send()
            .await;
        assert!(missing.is_err());
    });
}
