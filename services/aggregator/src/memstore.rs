//! A read store in memory, for the aggregator's own tests that run with
//! tokio's paused time (a database's pool timeouts would fire as paused
//! time jumps ahead).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use citydash_proto::v1;
use citydash_sector::store::StoreError;

use crate::clock::Clock;
use crate::compute::Settings;
use crate::readstore::{FeedPosition, Loaded, ReadStore, Rebuilt};
use crate::view::{View, Writer};

#[derive(Default)]
struct Stored {
    changes: BTreeMap<(i32, String, String), v1::Change>,
    positions: BTreeMap<i32, FeedPosition>,
    catalogs: BTreeMap<i32, v1::GetCatalogResponse>,
    reports: BTreeMap<String, v1::SupervisionReport>,
}

/// A fresh view of agriculture's feed on an empty memory, and its writer.
pub async fn agriculture_view() -> (Arc<View<MemoryReadStore>>, Writer<MemoryReadStore>) {
    View::load(
        MemoryReadStore::default(),
        Settings::default(),
        Clock::System,
        &[v1::Sector::Agriculture],
    )
    .await
    .expect("load")
}

/// A [`ReadStore`] whose clones share one memory.
#[derive(Clone, Default)]
pub struct MemoryReadStore(Arc<Mutex<Stored>>);

impl MemoryReadStore {
    fn with<T>(&self, f: impl FnOnce(&mut Stored) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl ReadStore for MemoryReadStore {
    async fn load<'a>(&'a self, each: &'a mut (dyn FnMut(i32, v1::Change) + Send)) -> Result<Loaded, StoreError> {
        let (changes, loaded) = self.with(|s| {
            let changes: Vec<(i32, v1::Change)> =
                s.changes.iter().map(|((sector, ..), c)| (*sector, c.clone())).collect();
            let loaded = Loaded {
                positions: s.positions.values().cloned().collect(),
                catalogs: s.catalogs.iter().map(|(k, v)| (*k, v.clone())).collect(),
            };
            (changes, loaded)
        });
        for (sector, change) in changes {
            each(sector, change);
        }
        Ok(loaded)
    }

    async fn apply(&self, sector: i32, generation: i64, changes: &[v1::Change]) -> Result<bool, StoreError> {
        Ok(self.with(|s| {
            let position = s.positions.entry(sector).or_insert_with(|| FeedPosition {
                sector,
                generation,
                ..FeedPosition::default()
            });
            if position.generation != generation {
                return false;
            }
            for c in changes {
                position.last_seq = position.last_seq.max(c.sequence);
            }
            for c in changes {
                let key = (sector, c.record_type.clone(), c.key.clone());
                if s.changes.get(&key).is_none_or(|old| old.sequence < c.sequence) {
                    s.changes.insert(key, c.clone());
                }
            }
            true
        }))
    }

    async fn rebuild(&self, sector: i32, seen: i64, why: &Rebuilt) -> Result<FeedPosition, StoreError> {
        Ok(self.with(|s| {
            let position = s.positions.entry(sector).or_insert_with(|| FeedPosition {
                sector,
                generation: seen,
                ..FeedPosition::default()
            });
            if position.generation == seen {
                position.last_seq = 0;
                position.generation += 1;
                position.rebuilt = Some(why.clone());
                s.changes.retain(|(sec, ..), _| *sec != sector);
            }
            s.positions[&sector].clone()
        }))
    }

    async fn save_catalog(&self, sector: i32, catalog: &v1::GetCatalogResponse) -> Result<(), StoreError> {
        self.with(|s| s.catalogs.insert(sector, catalog.clone()));
        Ok(())
    }

    async fn report(&self, date: &str) -> Result<Option<v1::SupervisionReport>, StoreError> {
        Ok(self.with(|s| s.reports.get(date).cloned()))
    }

    async fn save_report(
        &self,
        date: &str,
        report: &v1::SupervisionReport,
    ) -> Result<v1::SupervisionReport, StoreError> {
        Ok(self.with(|s| {
            s.reports
                .entry(date.to_owned())
                .or_insert_with(|| report.clone())
                .clone()
        }))
    }

    async fn report_dates(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.with(|s| s.reports.keys().rev().cloned().collect()))
    }
}
