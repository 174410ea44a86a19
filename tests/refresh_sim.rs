//! The console's full inventory refresh (its `InventoryWorker`, the path `r` and start-up take)
//! against a 10,000-instance simulator: it must make exactly the minimum number of API calls the
//! page limits allow, ⌈EC2 instances / 1000⌉ DescribeInstances and ⌈SSM nodes / 50⌉
//! DescribeInstanceInformation per region, one ListTagsForResource per hybrid node (their tags
//! are not in EC2), and nothing else. Prints the calls and the wall time
//! (docs/performance.md); `cargo test --release --test refresh_sim -- --nocapture` for the figure.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleetdeck::aws::clients::{CallStats, ClientOptions, Target};
use fleetdeck::cache::{Cache, CacheKey};
use fleetdeck::sim::{SimOptions, Simulator};
use fleetdeck::tui::action::Action;
use fleetdeck::tui::tasks::InventoryWorker;
use tokio_util::sync::CancellationToken;

const INSTANCES: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_refresh_of_10k_instances_makes_the_minimum_api_calls() {
    let sim = Simulator::start(SimOptions {
        instances: INSTANCES,
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts");
    let regions = sim.regions().to_vec();
    let mut options = ClientOptions::new(Some(sim.endpoint_url()));
    options.static_credentials = Some(("ana".into(), "secret".into()));
    let targets: Vec<Target> = regions
        .iter()
        .map(|r| Target {
            profile: None,
            region: r.clone(),
        })
        .collect();
    let cache_dir = tempfile::tempdir().expect("temp dir");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut worker = InventoryWorker::new(
        tx,
        options.clone(),
        Arc::new(CallStats::default()),
        Some(Cache::at(cache_dir.path())),
        CancellationToken::new(),
    );
    let key = CacheKey::new(options.endpoint_url.clone(), &["default".into()], &regions);

    let started = Instant::now();
    let generation = worker.refresh(Vec::new(), targets, key.clone());
    let inventory = tokio::time::timeout(Duration::from_secs(180), async {
        loop {
            match rx.recv().await.expect("the worker reports") {
                Action::InventoryFetched {
                    generation: g,
                    inventory,
                    ..
                } if g == generation => break inventory,
                _ => {}
            }
        }
    })
    .await
    .expect("the refresh finishes within 180 s");
    let elapsed = started.elapsed();
    assert!(inventory.problems.is_empty(), "{:?}", inventory.problems);

    let stats = sim.stats();
    let (mut ec2_min, mut ssm_min, mut hybrid) = (0, 0, 0);
    for region in &regions {
        let here = sim.fleet().iter().filter(|i| &i.region == region);
        let ec2 = here.clone().filter(|i| i.ec2.is_some()).count() as u64;
        let ssm = here.clone().filter(|i| i.ssm.is_some()).count() as u64;
        hybrid += here.filter(|i| i.ssm.is_some() && i.ec2.is_none()).count() as u64;
        ec2_min += ec2.div_ceil(1000);
        ssm_min += ssm.div_ceil(50);
    }
    let ec2_calls = stats.calls("ec2", "DescribeInstances");
    let ssm_calls = stats.calls("ssm", "DescribeInstanceInformation");
    let tag_calls = stats.calls("ssm", "ListTagsForResource");
    eprintln!(
        "console refresh of {INSTANCES} instances over {} regions: {ec2_calls} DescribeInstances \
         (minimum {ec2_min}), {ssm_calls} DescribeInstanceInformation (minimum {ssm_min}), \
         {tag_calls} ListTagsForResource ({hybrid} hybrid nodes), {} calls in all, {} instances, \
         {elapsed:.2?}",
        regions.len(),
        stats.total_calls,
        inventory.instances.len()
    );
    assert_eq!(ec2_calls, ec2_min, "EC2 pages");
    assert_eq!(ssm_calls, ssm_min, "SSM pages");
    assert_eq!(tag_calls, hybrid, "one tag read per hybrid node");
    assert_eq!(
        stats.total_calls,
        ec2_min + ssm_min + hybrid,
        "no other call: {stats:?}"
    );

    // The refresh also left the cache the next start paints from.
    let cached = Cache::at(cache_dir.path())
        .load(&key)
        .expect("the refresh wrote the cache");
    assert_eq!(cached.instances.len(), inventory.instances.len());
}

/// Start-up with a cache: the cached fleet is read and shown before the refresh asks AWS
/// anything, so the refresh never competes with the first paint; the refresh follows by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_shows_the_cache_before_the_refresh_asks_anything() {
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator starts");
    let mut options = ClientOptions::new(Some(sim.endpoint_url()));
    options.static_credentials = Some(("ana".into(), "secret".into()));
    let targets: Vec<Target> = sim
        .regions()
        .iter()
        .map(|r| Target {
            profile: None,
            region: r.clone(),
        })
        .collect();
    let stats = Arc::new(CallStats::default());
    let clients = fleetdeck::aws::clients::build_all(&targets, &options, stats.clone()).await;
    let cache_dir = tempfile::tempdir().expect("temp dir");
    let cache = Cache::at(cache_dir.path());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let worker = InventoryWorker::new(
        tx.clone(),
        options.clone(),
        stats.clone(),
        Some(cache.clone()),
        CancellationToken::new(),
    );
    let mut app = fleetdeck::tui::build_app(
        fleetdeck::tui::Launch {
            clients,
            options,
            stats,
            config: Default::default(),
            cache: Some(cache.clone()),
            label: None,
            notice: None,
        },
        Some(worker),
    );
    app.services.tx = Some(tx);
    // Last time's fleet: three hosts, whatever the simulator holds now.
    let cached: Vec<_> = fleetdeck::aws::inventory::fetch(
        &fleetdeck::aws::clients::build_all(
            &targets,
            &ClientOptions {
                static_credentials: Some(("ana".into(), "secret".into())),
                ..ClientOptions::new(Some(sim.endpoint_url()))
            },
            Arc::new(CallStats::default()),
        )
        .await,
    )
    .await
    .instances
    .into_iter()
    .take(3)
    .collect();
    cache
        .store(&app.services.cache_key(), chrono::Utc::now(), &cached)
        .expect("cache written");
    let calls_before = sim.stats().total_calls;

    app.start();
    let next = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<Action>| {
        let action = rx.try_recv();
        action.ok()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen_cache = false;
    loop {
        assert!(Instant::now() < deadline, "no CacheRead within 30 s");
        match next(&mut rx) {
            Some(Action::CacheLoaded { key, cached }) => {
                app.update(Action::CacheLoaded { key, cached });
                seen_cache = true;
            }
            Some(Action::CacheRead { key }) => {
                assert!(seen_cache, "the cached fleet comes before the read ends");
                assert_eq!(
                    app.state.fleet.instances().len(),
                    3,
                    "the cached hosts are shown"
                );
                assert_eq!(app.state.refresh.in_flight, None, "no refresh yet");
                assert_eq!(
                    sim.stats().total_calls,
                    calls_before,
                    "nothing asked of AWS before the cache was read"
                );
                app.update(Action::CacheRead { key });
                break;
            }
            Some(_) => {}
            None => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    assert!(app.state.refresh.in_flight.is_some(), "the refresh follows");
    let fetched = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Some(Action::InventoryFetched { inventory, .. }) = rx.recv().await {
                break inventory.instances.len();
            }
        }
    })
    .await
    .expect("the refresh finishes");
    assert_eq!(fetched, sim.fleet().len());
}
