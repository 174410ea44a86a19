//! Work that leaves the render path: refreshing the inventory, changing profiles or regions,
//! loading a theme; and the reports that come back.

use crate::aws::{Clients, Inventory, Target};
use crate::cache::{CacheKey, CachedInventory};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::state::{Level, TabStatus};
use crate::tui::theme::Theme;

impl App {
    /// Start-up: the cached fleet (if any) is read first and the refresh starts once that read is
    /// over (`CacheRead`): on two busy cores the SDK's work would otherwise slow the cached
    /// fleet's first paint (docs/performance.md). Without a cache the refresh starts now.
    pub fn start(&mut self) {
        let reading = self
            .services
            .worker
            .as_ref()
            .is_some_and(|w| w.load_cache(self.services.cache_key()));
        if !reading {
            self.update(Action::Refresh);
        }
    }

    pub(super) fn refresh(&mut self) {
        let key = self.services.cache_key();
        let targets = self.services.targets.clone();
        let clients = self.services.clients.clone();
        let Some(worker) = self.services.worker.as_mut() else {
            self.state.flash(
                Level::Warn,
                "nothing to refresh: no AWS targets in this session",
            );
            return;
        };
        if targets.is_empty() {
            self.state.flash(
                Level::Warn,
                "no profile and region to read: use :region and :profile",
            );
            return;
        }
        let generation = worker.refresh(clients, targets, key);
        self.state.refresh.in_flight = Some(generation);
        self.state.tabs.fleet_mut().status = TabStatus::Busy;
    }

    /// `:region` / `:profile`: `Some(None)` goes back to the start, `Some(Some(v))` picks `v`.
    pub(super) fn set_scope(
        &mut self,
        profiles: Option<Option<Vec<String>>>,
        regions: Option<Option<Vec<String>>>,
    ) {
        let start = &self.services.start_targets;
        let current = &self.services.targets;
        // Profiles as the SDK sees them: `None` is the default chain.
        let mut profile_set: Vec<Option<String>> = Vec::new();
        match profiles {
            Some(Some(names)) => profile_set.extend(names.into_iter().map(Some)),
            Some(None) => push_unique(&mut profile_set, start.iter().map(|t| t.profile.clone())),
            None => push_unique(&mut profile_set, current.iter().map(|t| t.profile.clone())),
        }
        let mut region_set: Vec<String> = Vec::new();
        match regions {
            Some(Some(names)) => push_unique(&mut region_set, names.into_iter()),
            Some(None) => push_unique(&mut region_set, start.iter().map(|t| t.region.clone())),
            None => push_unique(&mut region_set, current.iter().map(|t| t.region.clone())),
        }
        let mut targets = Vec::new();
        for profile in &profile_set {
            for region in &region_set {
                targets.push(Target {
                    profile: profile.clone(),
                    region: region.clone(),
                });
            }
        }
        if targets.is_empty() {
            self.state
                .flash(Level::Warn, "no profile and region left to show");
            return;
        }
        self.services.targets = targets;
        self.sync_scope();
        self.state.flash(
            Level::Info,
            format!(
                "showing {} in {}",
                self.state.scope.profiles.join(", "),
                self.state.scope.regions.join(", ")
            ),
        );
        // The new scope's cached inventory (if any) shows while it is read.
        self.state.refresh.fetched_at = None;
        // The refresh starts once the cache is read (`CacheRead`), or now if there is none.
        let reading = self
            .services
            .worker
            .as_ref()
            .is_some_and(|w| w.load_cache(self.services.cache_key()));
        if !reading {
            self.refresh();
        }
    }

    /// Header and palette completion follow the targets.
    pub fn sync_scope(&mut self) {
        let targets = &self.services.targets;
        let mut profiles = Vec::new();
        push_unique(&mut profiles, targets.iter().map(Target::profile_label));
        let mut regions = Vec::new();
        push_unique(&mut regions, targets.iter().map(|t| t.region.clone()));
        self.state.scope.profiles = profiles.clone();
        self.state.scope.regions = regions.clone();
        self.state.scope.endpoint = self.services.endpoint.clone();
        let ctx = &mut self.state.palette_context;
        push_unique(&mut ctx.profiles, profiles.into_iter());
        push_unique(&mut ctx.regions, regions.into_iter());
        for t in &self.services.start_targets {
            push_unique(&mut ctx.regions, std::iter::once(t.region.clone()));
            push_unique(&mut ctx.profiles, std::iter::once(t.profile_label()));
        }
        ctx.themes = Theme::available(self.services.theme_dir.as_deref());
    }

    pub(super) fn set_theme(&mut self, name: &str) {
        let (theme, problems) = Theme::load(
            name,
            self.services.theme_dir.as_deref(),
            &self.services.theme_overrides,
            self.services.no_color,
        );
        self.theme = theme;
        self.state.theme_name = self.theme.name.clone();
        match problems.first() {
            Some(p) => self.state.flash(Level::Warn, p.clone()),
            None => self
                .state
                .flash(Level::Info, format!("theme {}", self.theme.name)),
        }
    }

    pub(super) fn cache_loaded(&mut self, key: CacheKey, cached: CachedInventory) {
        // Only a head start: never over a fresh read, never for another scope.
        if key != self.services.cache_key() || self.state.refresh.fetched_at.is_some() {
            return;
        }
        let n = cached.instances.len();
        self.state.fleet.replace_instances(cached.instances);
        self.state.refresh.fetched_at = Some(cached.fetched_at);
        self.state.refresh.from_cache = true;
        if self.state.message.is_none() {
            self.state.flash(
                Level::Info,
                format!("{n} instances from the cache; refreshing…"),
            );
        }
    }

    pub(super) fn inventory_fetched(
        &mut self,
        generation: u64,
        key: CacheKey,
        clients: Vec<Clients>,
        inventory: Inventory,
    ) {
        if self.state.refresh.in_flight != Some(generation) || key != self.services.cache_key() {
            return; // a newer refresh replaced this one
        }
        self.services.clients = clients;
        let r = &mut self.state.refresh;
        r.in_flight = None;
        r.problems = inventory
            .problems
            .iter()
            .map(|p| p.error.to_string())
            .collect();
        r.throttled = inventory.problems.iter().any(|p| p.error.is_throttled());
        let n = inventory.instances.len();
        let all_failed = n == 0 && !inventory.problems.is_empty();
        if !all_failed {
            self.state.fleet.replace_instances(inventory.instances);
            self.state.refresh.fetched_at = inventory.fetched_at;
            self.state.refresh.from_cache = false;
        }
        let tab = self.state.tabs.fleet_mut();
        match inventory.problems.first() {
            Some(first) => {
                tab.status = TabStatus::Failed(first.error.to_string());
                let more = match inventory.problems.len() {
                    1 => String::new(),
                    k => format!(" (and {} more problems)", k - 1),
                };
                let kept = if all_failed && !self.state.fleet.instances().is_empty() {
                    "Showing the previous inventory: "
                } else {
                    ""
                };
                self.state
                    .flash(Level::Error, format!("{kept}{}{more}", first.error));
            }
            None => {
                tab.status = TabStatus::Idle;
                self.state.flash(Level::Info, format!("{n} instances read"));
            }
        }
    }
}

fn push_unique<T: PartialEq>(into: &mut Vec<T>, items: impl Iterator<Item = T>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}
