//! The history store: each recorded results file's per-metric summaries,
//! by commit and environment, in an SQLite database file (default
//! `.memgate/history.db`) that `sqlite3` and any SQLite tool open. A
//! record is one results file of one commit in one environment; adding
//! the same commit again in the same environment replaces its record.
//!
//! Records of different environments (OS, architecture, CPU model, cores)
//! are kept apart: a series is one metric of one workload in one
//! environment, never a mix of machines.
//!
//! Size: a summary row holds the series and record ids, n, median, min,
//! max and the coefficient of variation, in a `WITHOUT ROWID` table
//! keyed by (series, record) (about 45 bytes a row in SQLite's record
//! format; `benches/history_size.sh` measures it). Samples are kept
//! beside them, as little-endian f64, while a record's samples stay within
//! [`SAMPLE_BUDGET`] bytes, for the last [`SAMPLE_RECORDS`] records.

pub mod anchor;
pub mod drift;
pub mod export;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::fingerprint::Environment;
use crate::metrics::{Better, Stability, Unit};
use crate::results::Results;
use crate::stats::Summary;

/// Where the history is kept unless the config or `--history` says.
pub const DEFAULT_HISTORY: &str = ".memgate/history.db";

/// The history's file name beside the baseline.
pub const HISTORY_FILE: &str = "history.db";

/// The samples one record keeps, in bytes (8 a sample): the summaries of
/// every metric are always kept; samples while they fit.
pub const SAMPLE_BUDGET: usize = 64 * 1024;

/// The most recent records that keep their samples; older ones keep their
/// summaries only, so the samples of a long history stay a few MB.
pub const SAMPLE_RECORDS: usize = 100;

/// The schema this memgate writes (SQLite's `user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS environments (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    environment INTEGER NOT NULL REFERENCES environments(id),
    sha TEXT NOT NULL,
    branch TEXT,
    date TEXT NOT NULL,
    source TEXT NOT NULL,
    UNIQUE (environment, sha)
);
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    workload TEXT NOT NULL,
    metric TEXT NOT NULL,
    unit TEXT NOT NULL,
    better TEXT NOT NULL,
    stability TEXT NOT NULL,
    UNIQUE (workload, metric)
);
CREATE TABLE IF NOT EXISTS summaries (
    series INTEGER NOT NULL,
    record INTEGER NOT NULL,
    n INTEGER NOT NULL,
    median REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    cv REAL NOT NULL,
    PRIMARY KEY (series, record)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS acceptances (
    record INTEGER NOT NULL,
    series INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (record, series)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS samples (
    series INTEGER NOT NULL,
    record INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (series, record)
) WITHOUT ROWID;
";

/// Why the history cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// SQLite refused: not a database, locked, read-only, a full disk.
    #[error("{}: {source}", path.display())]
    Db {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A database of another schema, or none of memgate's.
    #[error(
        "{}: a history of schema version {found}, this memgate reads {SCHEMA_VERSION}: use the memgate that wrote it, or start a new history",
        path.display()
    )]
    Version {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
    },
    /// A results file that names no commit.
    #[error(
        "{}: the results name no git commit (measured outside a checkout?): pass --commit SHA",
        path.display()
    )]
    NoCommit {
        /// The results file.
        path: PathBuf,
    },
    /// `--commit` names the commit of one results file, not of several.
    #[error("--commit and --accepted apply to one results file; the files name their own commits")]
    CommitForMany,
    /// An `--accepted` entry that is not WORKLOAD:METRIC.
    #[error("--accepted {0}: expected WORKLOAD:METRIC")]
    NotAMetric(String),
    /// The parent directory of a new history cannot be made.
    #[error("{}: {source}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// One record's identity: what `history add` files a results file under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordId {
    /// Full commit SHA.
    pub sha: String,
    /// Branch, when known.
    pub branch: Option<String>,
    /// RFC 3339 date: the results' `created_at`.
    pub date: String,
}

impl RecordId {
    /// The commit, branch and date a results file names; `commit`
    /// overrides the file's.
    pub fn of(path: &Path, r: &Results, commit: Option<&str>) -> Result<RecordId, HistoryError> {
        let git = r.environments.iter().find_map(|e| e.git.as_ref());
        let sha = commit
            .map(str::to_owned)
            .or_else(|| git.map(|g| g.commit.clone()))
            .ok_or_else(|| HistoryError::NoCommit {
                path: path.to_owned(),
            })?;
        Ok(RecordId {
            sha,
            branch: git.and_then(|g| g.branch.clone()),
            date: r.created_at.clone(),
        })
    }
}

/// One point of a series: a commit's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Full commit SHA.
    pub sha: String,
    /// Branch, when known.
    pub branch: Option<String>,
    /// When the results were written.
    pub date: String,
    /// The summary of the commit's samples.
    pub summary: Summary,
    /// Why an increase at this commit was accepted, when it was: its level
    /// is where drift budgets count from after it.
    pub accepted: Option<String>,
}

/// One metric of one workload in one environment, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesHistory {
    /// Workload.
    pub workload: String,
    /// Metric.
    pub metric: String,
    /// Unit.
    pub unit: Unit,
    /// Direction.
    pub better: Better,
    /// What moves it.
    pub stability: Stability,
    /// The environment's key (see [`environment_key`]).
    pub environment: String,
    /// Points, in the order the commits were recorded.
    pub points: Vec<Point>,
}

/// What `add` stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// Metric summaries.
    pub summaries: usize,
    /// Of them, with their samples.
    pub with_samples: usize,
    /// Whether an earlier record of the commit was replaced.
    pub replaced: bool,
}

/// The environment a series belongs to: what changes the figures of a
/// machine, not the day's kernel or toolchain patch release.
pub fn environment_key(e: &Environment) -> String {
    format!(
        "{}/{} {} x{}",
        e.os,
        e.arch,
        e.cpu_model.as_deref().unwrap_or("unknown CPU"),
        e.cores.map_or("?".to_owned(), |c| c.to_string())
    )
}

/// The environment key `results` measured `workload` in, if it has it.
pub fn environment_of(results: &Results, workload: &str) -> Option<String> {
    results
        .workloads
        .iter()
        .find(|w| w.name == workload)
        .and_then(|w| results.environments.get(w.environment))
        .map(environment_key)
}

/// An open history.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

/// A serde enum's name, as results files spell it.
fn name_of<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A serde enum from its name; `None` when unknown.
fn from_name<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

impl History {
    /// Opens the history at `path`, creating it (and its directory) when
    /// `create` and it does not exist.
    pub fn open(path: &Path, create: bool) -> Result<History, HistoryError> {
        let db = |source| HistoryError::Db {
            path: path.to_owned(),
            source,
        };
        if create && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::Dir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let flags = if create {
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
        } else {
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
        };
        let conn = Connection::open_with_flags(path, flags).map_err(db)?;
        // A busy writer (another memgate) is waited for, not failed on.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(db)?;
        match (version, tables) {
            // Tables added within the schema version appear on a write.
            (SCHEMA_VERSION, _) if create => conn.execute_batch(SCHEMA).map_err(db)?,
            (SCHEMA_VERSION, _) => {}
            (0, 0) if create => {
                conn.execute_batch(&format!(
                    "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(db)?;
            }
            (found, _) => {
                return Err(HistoryError::Version {
                    path: path.to_owned(),
                    found,
                });
            }
        }
        Ok(History {
            conn,
            path: path.to_owned(),
        })
    }

    fn db(&self) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
        |source| HistoryError::Db {
            path: self.path.clone(),
            source,
        }
    }

    /// Records `results` as commit `id`, in one transaction: every metric
    /// of every workload summarised, replacing an earlier record of the
    /// same commit in the same environment.
    pub fn add(&mut self, results: &Results, id: &RecordId) -> Result<Added, HistoryError> {
        let path = self.path.clone();
        let db = |source| HistoryError::Db {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(db)?;
        let mut added = Added {
            summaries: 0,
            with_samples: 0,
            replaced: false,
        };
        let mut budget = SAMPLE_BUDGET;
        let mut records: Vec<(usize, i64)> = Vec::new();
        for w in &results.workloads {
            let Some(env) = results.environments.get(w.environment) else {
                continue;
            };
            let record = match records.iter().find(|(e, _)| *e == w.environment) {
                Some(&(_, r)) => r,
                None => {
                    let key = environment_key(env);
                    tx.execute(
                        "INSERT INTO environments (key) VALUES (?1) ON CONFLICT (key) DO NOTHING",
                        params![key],
                    )
                    .map_err(db)?;
                    let env_id: i64 = tx
                        .query_row(
                            "SELECT id FROM environments WHERE key = ?1",
                            params![key],
                            |r| r.get(0),
                        )
                        .map_err(db)?;
                    let old: Option<i64> = tx
                        .query_row(
                            "SELECT id FROM records WHERE environment = ?1 AND sha = ?2",
                            params![env_id, id.sha],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(db)?;
                    if let Some(old) = old {
                        for table in ["summaries", "samples", "acceptances"] {
                            tx.execute(
                                &format!("DELETE FROM {table} WHERE record = ?1"),
                                params![old],
                            )
                            .map_err(db)?;
                        }
                        tx.execute("DELETE FROM records WHERE id = ?1", params![old])
                            .map_err(db)?;
                        added.replaced = true;
                    }
                    tx.execute(
                        "INSERT INTO records (environment, sha, branch, date, source) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![env_id, id.sha, id.branch, id.date, results.memgate_version],
                    )
                    .map_err(db)?;
                    let r = tx.last_insert_rowid();
                    records.push((w.environment, r));
                    r
                }
            };
            for (metric, s) in &w.metrics {
                let xs: Vec<f64> = s.samples.iter().map(|v| v.as_f64()).collect();
                let Some(summary) = Summary::of(&xs) else {
                    continue;
                };
                tx.execute(
                    "INSERT INTO series (workload, metric, unit, better, stability) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (workload, metric) DO UPDATE SET unit = excluded.unit, better = excluded.better, stability = excluded.stability",
                    params![w.name, metric, name_of(s.unit), name_of(s.better), name_of(s.stability)],
                )
                .map_err(db)?;
                let series: i64 = tx
                    .query_row(
                        "SELECT id FROM series WHERE workload = ?1 AND metric = ?2",
                        params![w.name, metric],
                        |r| r.get(0),
                    )
                    .map_err(db)?;
                tx.execute(
                    "INSERT INTO summaries (series, record, n, median, min, max, cv) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![series, record, summary.n as i64, summary.median, summary.min, summary.max, summary.cv],
                )
                .map_err(db)?;
                added.summaries += 1;
                let bytes = xs.len() * 8;
                if bytes <= budget {
                    budget -= bytes;
                    let data: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
                    tx.execute(
                        "INSERT INTO samples (series, record, data) VALUES (?1, ?2, ?3)",
                        params![series, record, data],
                    )
                    .map_err(db)?;
                    added.with_samples += 1;
                }
            }
        }
        tx.execute(
            "DELETE FROM samples WHERE record NOT IN (SELECT id FROM records ORDER BY id DESC LIMIT ?1)",
            params![SAMPLE_RECORDS as i64],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(added)
    }

    /// Marks the increases of `accepted` (workload, metric) at commit
    /// `sha` as intended, with `reason`: drift budgets count from that
    /// commit's level on. Returns how many were marked (a metric the
    /// record does not hold is skipped).
    pub fn accept(
        &mut self,
        results: &Results,
        sha: &str,
        accepted: &[(String, String)],
        reason: &str,
    ) -> Result<usize, HistoryError> {
        let path = self.path.clone();
        let db = |source| HistoryError::Db {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(db)?;
        let mut marked = 0;
        for (workload, metric) in accepted {
            let Some(key) = environment_of(results, workload) else {
                continue;
            };
            let ids: Option<(i64, i64)> = tx
                .query_row(
                    "SELECT r.id, s.id FROM records r JOIN environments e ON e.id = r.environment
                     JOIN summaries m ON m.record = r.id JOIN series s ON s.id = m.series
                     WHERE e.key = ?1 AND r.sha = ?2 AND s.workload = ?3 AND s.metric = ?4",
                    params![key, sha, workload, metric],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db)?;
            if let Some((record, series)) = ids {
                tx.execute(
                    "INSERT OR REPLACE INTO acceptances (record, series, reason) VALUES (?1, ?2, ?3)",
                    params![record, series, reason],
                )
                .map_err(db)?;
                marked += 1;
            }
        }
        tx.commit().map_err(db)?;
        Ok(marked)
    }

    /// One metric's series in the environment `results` measured its
    /// workload in (the newest `last` records' points), if recorded.
    pub fn series_in(
        &self,
        results: &Results,
        workload: &str,
        metric: &str,
        last: Option<usize>,
    ) -> Result<Option<SeriesHistory>, HistoryError> {
        let Some(key) = environment_of(results, workload) else {
            return Ok(None);
        };
        Ok(self
            .series(Some(workload), Some(metric), last)?
            .into_iter()
            .find(|s| s.environment == key))
    }

    /// Every series whose workload and metric match (`None` matches all),
    /// each environment's apart, oldest record first; only the points of
    /// each environment's `last` newest records when given (the window of
    /// commits; a year of history is never all in memory for a look at its
    /// end).
    pub fn series(
        &self,
        workload: Option<&str>,
        metric: Option<&str>,
        last: Option<usize>,
    ) -> Result<Vec<SeriesHistory>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "WITH recent AS (
                     SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY environment ORDER BY id DESC) AS rn
                                     FROM records)
                     WHERE ?3 IS NULL OR rn <= ?3)
                 SELECT s.workload, s.metric, s.unit, s.better, s.stability, e.key,
                        r.sha, r.branch, r.date, m.n, m.median, m.min, m.max, m.cv, a.reason
                 FROM recent
                 JOIN records r ON r.id = recent.id
                 JOIN summaries m ON m.record = r.id
                 JOIN series s ON s.id = m.series
                 JOIN environments e ON e.id = r.environment
                 LEFT JOIN acceptances a ON a.record = r.id AND a.series = s.id
                 WHERE (?1 IS NULL OR s.workload = ?1) AND (?2 IS NULL OR s.metric = ?2)
                 ORDER BY s.workload, s.metric, e.key, r.id",
            )
            .map_err(self.db())?;
        let mut rows = stmt
            .query(params![workload, metric, last.map(|n| n as i64)])
            .map_err(self.db())?;
        let mut out: Vec<SeriesHistory> = Vec::new();
        // A series' names are read once, when it starts: a year of history
        // is hundreds of thousands of rows.
        let text = |r: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<String> { r.get(i) };
        while let Some(r) = rows.next().map_err(self.db())? {
            let same = out.last().is_some_and(|s| {
                let is = |i: usize, v: &str| {
                    r.get_ref(i)
                        .ok()
                        .and_then(|x| x.as_str().ok())
                        .is_some_and(|x| x == v)
                };
                is(0, &s.workload) && is(1, &s.metric) && is(5, &s.environment)
            });
            let point = (|| {
                Ok(Point {
                    sha: r.get(6)?,
                    branch: r.get(7)?,
                    date: r.get(8)?,
                    summary: Summary {
                        n: r.get::<_, i64>(9)?.max(0) as usize,
                        median: r.get(10)?,
                        min: r.get(11)?,
                        max: r.get(12)?,
                        cv: r.get(13)?,
                    },
                    accepted: r.get(14)?,
                })
            })()
            .map_err(self.db())?;
            match out.last_mut() {
                Some(s) if same => s.points.push(point),
                _ => {
                    let names = (|| {
                        Ok((
                            text(r, 0)?,
                            text(r, 1)?,
                            text(r, 2)?,
                            text(r, 3)?,
                            text(r, 4)?,
                            text(r, 5)?,
                        ))
                    })()
                    .map_err(self.db())?;
                    let (workload, metric, unit, better, stability, environment) = names;
                    out.push(SeriesHistory {
                        workload,
                        metric,
                        unit: from_name(&unit).unwrap_or(Unit::Count),
                        better: from_name(&better).unwrap_or(Better::Lower),
                        stability: from_name(&stability).unwrap_or(Stability::MachineDependent),
                        environment,
                        points: vec![point],
                    });
                }
            }
        }
        Ok(out)
    }
}
