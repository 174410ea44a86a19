//! The console's first paint from the disk cache with 10,000 instances, through the start-up
//! path: read and parse the cache file (`Cache::load`, what `InventoryWorker::load_cache` runs),
//! build the app (`tui::build_app`: keymap, theme), apply it (`Action::CacheLoaded`: rows and the
//! search index) and draw the first frame (`App::draw`, into a 160×45 `TestBackend`).
//! Run: `cargo bench --bench first_paint`. Figures and the machine: docs/performance.md.
//!
//! The cache file is the one a real refresh writes: a 10,000-instance simulator (two regions)
//! read through `aws::inventory::fetch` and stored with `Cache::store`, once, before timing.

use std::sync::{Arc, OnceLock};

use divan::{Bencher, black_box};
use fleetdeck::aws::{self, CallStats, ClientOptions, Clients, Target};
use fleetdeck::cache::{Cache, CacheKey};
use fleetdeck::config::Config;
use fleetdeck::sim::{SimOptions, Simulator};
use fleetdeck::tui::action::Action;
use fleetdeck::tui::app::App;
use fleetdeck::tui::headless::Headless;
use fleetdeck::tui::{Launch, build_app};

const INSTANCES: usize = 10_000;
const SIZE: (u16, u16) = (160, 45);

fn main() {
    divan::main();
}

struct Fixture {
    _dir: tempfile::TempDir,
    cache: Cache,
    key: CacheKey,
    clients: Vec<Clients>,
    options: ClientOptions,
}

impl Fixture {
    fn launch(&self) -> Launch {
        Launch {
            clients: self.clients.clone(),
            options: self.options.clone(),
            stats: Arc::new(CallStats::default()),
            config: Config::default(),
            cache: Some(self.cache.clone()),
            label: None,
            notice: None,
        }
    }
}

/// Written once per bench process: a simulator read the way the console reads it, cached.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        runtime.block_on(async {
            let sim = Simulator::start(SimOptions {
                instances: INSTANCES,
                ..SimOptions::default()
            })
            .await
            .expect("simulator");
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
            let clients =
                aws::clients::build_all(&targets, &options, Arc::new(CallStats::default())).await;
            let inventory = aws::inventory::fetch(&clients).await;
            assert!(inventory.problems.is_empty(), "{:?}", inventory.problems);
            let dir = tempfile::tempdir().expect("temp dir");
            let mut fixture = Fixture {
                cache: Cache::at(dir.path()),
                _dir: dir,
                key: CacheKey::new(None, &[], &[]),
                clients,
                options,
            };
            // The key the console will look for: its own, for these clients.
            fixture.key = build_app(fixture.launch(), None).services.cache_key();
            let at = inventory.fetched_at.unwrap_or_else(chrono::Utc::now);
            fixture
                .cache
                .store(&fixture.key, at, &inventory.instances)
                .expect("cache written");
            sim.shutdown().await;
            fixture
        })
    })
}

/// Everything between start-up and the first frame that shows the cached fleet.
fn paint_from_cache(fixture: &Fixture, screen: &mut Headless) -> App {
    let mut app = build_app(fixture.launch(), None);
    let cached = fixture.cache.load(&fixture.key).expect("cache loads");
    app.update(Action::CacheLoaded {
        key: fixture.key.clone(),
        cached: Box::new(cached),
    });
    screen.draw(&app);
    app
}

/// The whole first paint: cache read and parsed, app built, rows applied, frame drawn.
#[divan::bench(sample_count = 20)]
fn first_paint_from_cache(b: Bencher) {
    let fixture = fixture();
    // Checked once outside the timing: the frame really shows the cached fleet.
    let mut screen = Headless::new(SIZE.0, SIZE.1);
    let app = paint_from_cache(fixture, &mut screen);
    assert_eq!(app.state.fleet.instances().len(), {
        fixture
            .cache
            .load(&fixture.key)
            .expect("cache")
            .instances
            .len()
    });
    assert!(
        screen.text().contains("from the cache"),
        "{}",
        screen.text()
    );
    b.with_inputs(|| Headless::new(SIZE.0, SIZE.1))
        .bench_local_refs(|screen| black_box(paint_from_cache(fixture, screen)));
}

/// The reference in the same run: the first paint with no cache (empty fleet).
#[divan::bench(sample_count = 20)]
fn first_paint_without_cache(b: Bencher) {
    let fixture = fixture();
    b.with_inputs(|| Headless::new(SIZE.0, SIZE.1))
        .bench_local_refs(|screen| {
            let app = build_app(fixture.launch(), None);
            screen.draw(&app);
            black_box(app)
        });
}

/// The parts: reading and parsing the cache file alone.
#[divan::bench(sample_count = 20)]
fn cache_load(b: Bencher) {
    let fixture = fixture();
    b.bench(|| black_box(fixture.cache.load(&fixture.key)));
}

/// The parts: one more frame of an app that already holds the 10,000 (every later frame).
#[divan::bench(sample_count = 20)]
fn next_frame(b: Bencher) {
    let fixture = fixture();
    let mut screen = Headless::new(SIZE.0, SIZE.1);
    let app = paint_from_cache(fixture, &mut screen);
    b.bench_local(|| screen.draw(black_box(&app)));
}
