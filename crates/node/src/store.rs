//! The node's local store: one SQLite file, `node.db` in the data directory.
//!
//! Why SQLite (rusqlite, bundled) rather than redb: in WAL mode an operator can read the journal
//! (`ledgerops-node journal`, or `sqlite3`) while the node writes it; redb locks its file to one
//! process. Both are ACID and survive `kill -9` and power loss; SQLite's file format is the one
//! every edge box already has tools for.
//!
//! What it keeps:
//! - `meta`: the chain id and registry the store belongs to, and the cursor (block number and hash).
//! - `logs`: every registry log read up to the cursor, checked against the audit chain and the
//!   registry's own audit head before it is written. The desired state is folded from them at
//!   start, so a node without RPC still knows it.
//! - `mirror`: the registry's storage slots the node proved (`eth_getProof`) at the cursor's block,
//!   with the account and code in `meta`: the node checks its state against them without an RPC.
//!   Only slots whose value changed are written.
//! - `blocks`: the hashes of recent cursors, to find where a reorg forked.
//! - `applied`: the (service, revision) pairs the node applied once (not re-applied after Swarm
//!   rolls one back by itself).
//! - `reports`: the (service, revision, activation) outcomes confirmed on chain (attestation or vote).
//! - `adopted`: the networks and volumes made before objects carried their registry that the
//!   operator took over (`ledgerops-node adopt`): Docker cannot relabel them.
//! - `journal`: every action taken, for operators.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::Log;
use ledgerops_chain::Cursor;
use ledgerops_chain::events::RegistryLog;
use ledgerops_chain::trust::{Checkpoint, SealedTip};
use ledgerops_evm::{AccountHead, Mirror};

use crate::follow::verify::MirrorChanges;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

/// Recent cursors kept to find a fork point; a deeper reorg re-reads the whole log.
const RECENT_BLOCKS: i64 = 256;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (block INTEGER NOT NULL, idx INTEGER NOT NULL, raw TEXT NOT NULL,
  PRIMARY KEY (block, idx));
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS applied (service TEXT NOT NULL, revision INTEGER NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (service, revision));
CREATE TABLE IF NOT EXISTS reports (service TEXT NOT NULL, revision INTEGER NOT NULL, activation INTEGER NOT NULL,
  at INTEGER NOT NULL, PRIMARY KEY (service, revision, activation));
CREATE TABLE IF NOT EXISTS mirror (slot TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
  service TEXT NOT NULL, revision INTEGER, action TEXT NOT NULL, result TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_service ON journal (service, id);
CREATE TABLE IF NOT EXISTS adopted (id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, at INTEGER NOT NULL);
";

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, permissions, a damaged file).
    #[error("store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The data directory belongs to another registry or chain.
    #[error(
        "the data dir holds the state of registry {stored} on chain {stored_chain}, not {wanted} on chain {wanted_chain}: use another --data-dir"
    )]
    OtherRegistry {
        /// The registry in the store.
        stored: Address,
        /// Its chain.
        stored_chain: u64,
        /// The registry configured.
        wanted: Address,
        /// Its chain.
        wanted_chain: u64,
    },
    /// A value in the store does not parse (edited by hand, or damaged).
    #[error("store {path}: damaged value: {what}")]
    Damaged {
        /// The database file.
        path: String,
        /// What failed to parse.
        what: String,
    },
}

/// A `Result` of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One action the node took (or declined), as operators read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Unix time in milliseconds.
    pub at: u64,
    /// The Swarm service name (`namespace_name`); empty for chain-wide entries (a reorg).
    pub service: String,
    /// The registry revision concerned, if any.
    pub revision: Option<u32>,
    /// `create`, `update`, `drift`, `remove`, `held`, `reorg`.
    pub action: String,
    /// `ok` or `error`.
    pub result: String,
    /// What changed or why it failed.
    pub detail: String,
}

impl Entry {
    /// An entry about the chain rather than one service.
    pub fn chain(action: &str, detail: String) -> Self {
        Self {
            at: now_ms(),
            service: String::new(),
            revision: None,
            action: action.into(),
            result: "ok".into(),
            detail,
        }
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// The store, shared by the chain follower and the controller.
#[derive(Debug)]
pub struct Store {
    path: String,
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating when needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("node.db");
        let name = path.display().to_string();
        let damaged = |what: String| StoreError::Damaged { path: name.clone(), what };
        let new_dir = !dir.exists();
        std::fs::create_dir_all(dir).map_err(|e| damaged(format!("cannot create the data dir: {e}")))?;
        // The store holds the node's journal and what it verified: its own to read. A data dir it
        // creates is private; one an operator made keeps the operator's mode.
        if new_dir {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| damaged(format!("cannot make the data dir private: {e}")))?;
        }
        let sql = |source| StoreError::Sqlite { path: name.clone(), source };
        let conn = Connection::open(&path).map_err(sql)?;
        // SQLite gives the WAL and shared-memory files the database file's mode.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| damaged(format!("cannot make node.db private: {e}")))?;
        // WAL: readers (the journal command) never block the node; NORMAL sync is durable across
        // a process crash, and a power cut loses at most the last transactions, which are re-read.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        Ok(Self { path: name, conn: Mutex::new(conn) })
    }

    /// Opens an existing store for reading only (the journal command, next to a running node).
    pub fn open_read_only(dir: &Path) -> Result<Self> {
        let path = dir.join("node.db");
        let name = path.display().to_string();
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|source| StoreError::Sqlite { path: name.clone(), source })?;
        Ok(Self { path: name, conn: Mutex::new(conn) })
    }

    /// The chain id and registry this store follows, once bound.
    pub fn binding(&self) -> Result<Option<(u64, Address)>> {
        let (chain, registry) = (self.meta("chain_id")?, self.meta("registry")?);
        match (chain, registry) {
            (Some(c), Some(r)) => Ok(Some((self.parse(&c, "chain_id")?, self.parse(&r, "registry")?))),
            _ => Ok(None),
        }
    }

    /// Binds an empty store to a registry; refuses a store bound to another one.
    pub fn bind(&self, chain_id: u64, registry: Address) -> Result<()> {
        match self.binding()? {
            Some((c, r)) if (c, r) == (chain_id, registry) => Ok(()),
            Some((stored_chain, stored)) => {
                Err(StoreError::OtherRegistry { stored, stored_chain, wanted: registry, wanted_chain: chain_id })
            }
            None => {
                let conn = self.conn();
                let tx = conn.unchecked_transaction().map_err(|e| self.sql(e))?;
                set_meta(&tx, "chain_id", &chain_id.to_string()).map_err(|e| self.sql(e))?;
                set_meta(&tx, "registry", &registry.to_string()).map_err(|e| self.sql(e))?;
                tx.commit().map_err(|e| self.sql(e))
            }
        }
    }

    /// The last block read, if any.
    pub fn cursor(&self) -> Result<Option<Cursor>> {
        let (block, hash) = (self.meta("cursor_block")?, self.meta("cursor_hash")?);
        match (block, hash) {
            (Some(b), Some(h)) => {
                Ok(Some(Cursor { block: self.parse(&b, "cursor_block")?, hash: self.parse(&h, "cursor_hash")? }))
            }
            _ => Ok(None),
        }
    }

    /// Every log kept, oldest first.
    pub fn logs(&self) -> Result<Vec<Log>> {
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT raw FROM logs ORDER BY block, idx").map_err(|e| self.sql(e))?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0)).map_err(|e| self.sql(e))?;
        rows.map(|raw| {
            let raw = raw.map_err(|e| self.sql(e))?;
            serde_json::from_str(&raw).map_err(|e| self.damaged(format!("a kept log: {e}")))
        })
        .collect()
    }

    /// Keeps the logs of a step and moves the cursor to `to`, in one transaction.
    pub fn advance(&self, logs: &[RegistryLog], to: Cursor) -> Result<()> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        for log in logs {
            let raw = serde_json::to_string(&log.raw).map_err(|e| self.damaged(e.to_string()))?;
            let idx = log.raw.log_index.unwrap_or_default();
            tx.execute(
                "INSERT OR REPLACE INTO logs (block, idx, raw) VALUES (?1, ?2, ?3)",
                params![to_i64(log.block), to_i64(idx), raw],
            )
            .map_err(|e| self.sql(e))?;
        }
        set_cursor(&tx, to).map_err(|e| self.sql(e))?;
        tx.execute("DELETE FROM blocks WHERE number <= (SELECT MAX(number) FROM blocks) - ?1", params![RECENT_BLOCKS])
            .map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))
    }

    /// The recent cursors, to find a fork point.
    pub fn recent(&self) -> Result<Vec<Cursor>> {
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT number, hash FROM blocks").map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))
            .map_err(|e| self.sql(e))?;
        rows.map(|row| {
            let (number, hash) = row.map_err(|e| self.sql(e))?;
            Ok(Cursor { block: u64::try_from(number).unwrap_or_default(), hash: self.parse(&hash, "blocks.hash")? })
        })
        .collect()
    }

    /// Forgets everything after `to` (a reorg replaced it), or everything when `to` is `None`.
    pub fn rewind(&self, to: Option<Cursor>) -> Result<()> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        let after = to.map_or(-1, |c| to_i64(c.block));
        tx.execute("DELETE FROM logs WHERE block > ?1", params![after]).map_err(|e| self.sql(e))?;
        tx.execute("DELETE FROM blocks WHERE number > ?1", params![after]).map_err(|e| self.sql(e))?;
        match to {
            Some(cursor) => set_cursor(&tx, cursor).map_err(|e| self.sql(e))?,
            None => {
                tx.execute("DELETE FROM meta WHERE key IN ('cursor_block', 'cursor_hash')", [])
                    .map_err(|e| self.sql(e))?;
            }
        }
        tx.commit().map_err(|e| self.sql(e))
    }

    /// The registry's mirror as kept at the cursor's block; `None` when none was kept or it is
    /// from another block (a crash between the two writes): it is then proved afresh.
    pub fn mirror(&self) -> Result<Option<Mirror>> {
        let (Some(head), Some(cursor)) = (self.meta("mirror_head")?, self.cursor()?) else { return Ok(None) };
        let head: AccountHead =
            serde_json::from_str(&head).map_err(|e| self.damaged(format!("the kept mirror: {e}")))?;
        if head.block.number != cursor.block || head.block.hash != cursor.hash {
            return Ok(None);
        }
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT slot, value FROM mirror").map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
            .map_err(|e| self.sql(e))?;
        let slots = rows
            .map(|row| {
                let (slot, value) = row.map_err(|e| self.sql(e))?;
                Ok((self.parse(&slot, "mirror.slot")?, self.parse(&value, "mirror.value")?))
            })
            .collect::<Result<Vec<(B256, U256)>>>()?;
        Ok(Some(Mirror::from_parts(head, slots)))
    }

    /// Keeps the mirror's account and block, and the slots that changed or were forgotten since
    /// the last call (all of them replaced when the mirror was built afresh).
    pub fn save_mirror(&self, head: &AccountHead, changes: &MirrorChanges) -> Result<()> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        if changes.replace {
            tx.execute("DELETE FROM mirror", []).map_err(|e| self.sql(e))?;
        }
        for (slot, value) in &changes.changed {
            tx.execute(
                "INSERT OR REPLACE INTO mirror (slot, value) VALUES (?1, ?2)",
                params![slot.to_string(), value.to_string()],
            )
            .map_err(|e| self.sql(e))?;
        }
        for slot in &changes.forgotten {
            tx.execute("DELETE FROM mirror WHERE slot = ?1", params![slot.to_string()]).map_err(|e| self.sql(e))?;
        }
        let head = serde_json::to_string(head).map_err(|e| self.damaged(e.to_string()))?;
        set_meta(&tx, "mirror_head", &head).map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))
    }

    /// Whether `revision` of `service` was applied once.
    pub fn applied(&self, service: B256, revision: u32) -> Result<bool> {
        let conn = self.conn();
        conn.query_row(
            "SELECT 1 FROM applied WHERE service = ?1 AND revision = ?2",
            params![service.to_string(), revision],
            |_| Ok(()),
        )
        .optional()
        .map(|found| found.is_some())
        .map_err(|e| self.sql(e))
    }

    /// Records that the network or volume `id` (`name`) is this node's, taken over by its operator.
    pub fn adopt(&self, kind: &str, id: &str, name: &str) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO adopted (id, kind, name, at) VALUES (?1, ?2, ?3, ?4)",
            params![id, kind, name, to_i64(now_ms())],
        )
        .map(drop)
        .map_err(|e| self.sql(e))
    }

    /// The ids of the networks and volumes taken over.
    pub fn adopted(&self) -> Result<std::collections::BTreeSet<String>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached("SELECT id FROM adopted").map_err(|e| self.sql(e))?;
        let ids = statement.query_map([], |row| row.get::<_, String>(0)).map_err(|e| self.sql(e))?;
        ids.collect::<rusqlite::Result<_>>().map_err(|e| self.sql(e))
    }

    /// The registry this store is bound to, as the node labels its objects with it.
    pub fn registry(&self) -> Result<Option<ledgerops_registry::RegistryId>> {
        Ok(self.binding()?.map(|(chain_id, address)| ledgerops_registry::RegistryId { chain_id, address }))
    }

    /// Records that `revision` of `service` was applied.
    pub fn mark_applied(&self, service: B256, revision: u32, at: u64) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO applied (service, revision, at) VALUES (?1, ?2, ?3)",
            params![service.to_string(), revision, to_i64(at)],
        )
        .map(drop)
        .map_err(|e| self.sql(e))
    }

    /// Whether this activation of `revision` was reported on chain.
    pub fn reported(&self, service: B256, revision: u32, activation: u64) -> Result<bool> {
        let conn = self.conn();
        conn.query_row(
            "SELECT 1 FROM reports WHERE service = ?1 AND revision = ?2 AND activation = ?3",
            params![service.to_string(), revision, to_i64(activation)],
            |_| Ok(()),
        )
        .optional()
        .map(|found| found.is_some())
        .map_err(|e| self.sql(e))
    }

    /// Records a report confirmed on chain.
    pub fn mark_reported(&self, service: B256, revision: u32, activation: u64, at: u64) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO reports (service, revision, activation, at) VALUES (?1, ?2, ?3, ?4)",
            params![service.to_string(), revision, to_i64(activation), to_i64(at)],
        )
        .map(drop)
        .map_err(|e| self.sql(e))
    }

    /// Appends to the journal.
    pub fn record(&self, entry: &Entry) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO journal (at, service, revision, action, result, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![to_i64(entry.at), entry.service, entry.revision, entry.action, entry.result, entry.detail],
        )
        .map(drop)
        .map_err(|e| self.sql(e))
    }

    /// The newest `limit` journal entries (of `service` when given), oldest first.
    pub fn journal(&self, service: Option<&str>, limit: u32) -> Result<Vec<Entry>> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(
                "SELECT at, service, revision, action, result, detail FROM journal
                 WHERE ?1 IS NULL OR service = ?1 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map(params![service, limit], |row| {
                Ok(Entry {
                    at: u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default(),
                    service: row.get(1)?,
                    revision: row.get(2)?,
                    action: row.get(3)?,
                    result: row.get(4)?,
                    detail: row.get(5)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        let mut entries = rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))?;
        entries.reverse();
        Ok(entries)
    }

    /// The checkpoint the node was last started from: kept, so that a node restarted without
    /// `--checkpoint` still refuses history that does not hold it.
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        self.meta("checkpoint")?.map(|text| self.parse(&text, "checkpoint")).transpose()
    }

    /// Keeps `checkpoint` (a newer one given replaces it).
    pub fn set_checkpoint(&self, checkpoint: Checkpoint) -> Result<()> {
        set_meta(&self.conn(), "checkpoint", &checkpoint.to_string()).map_err(|e| self.sql(e))
    }

    /// The last header whose seals verified, from `checkpoint` (none when it was verified from
    /// another one).
    pub fn sealed_tip(&self, checkpoint: Checkpoint) -> Result<Option<SealedTip>> {
        let Some(text) = self.meta("sealed_tip")? else { return Ok(None) };
        let (from, tip): (String, SealedTip) =
            serde_json::from_str(&text).map_err(|_| self.damaged(format!("sealed_tip = {text:?}")))?;
        Ok((from == checkpoint.to_string()).then_some(tip))
    }

    /// Keeps `tip`, verified from `checkpoint`.
    pub fn set_sealed_tip(&self, checkpoint: Checkpoint, tip: &SealedTip) -> Result<()> {
        let text = serde_json::to_string(&(checkpoint.to_string(), tip)).map_err(|e| self.damaged(e.to_string()))?;
        set_meta(&self.conn(), "sealed_tip", &text).map_err(|e| self.sql(e))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let conn = self.conn();
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0))
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn parse<T: std::str::FromStr>(&self, text: &str, what: &str) -> Result<T> {
        text.parse().map_err(|_| self.damaged(format!("{what} = {text:?}")))
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll back).
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    fn damaged(&self, what: String) -> StoreError {
        StoreError::Damaged { path: self.path.clone(), what }
    }
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", params![key, value]).map(drop)
}

fn set_cursor(conn: &Connection, cursor: Cursor) -> rusqlite::Result<()> {
    set_meta(conn, "cursor_block", &cursor.block.to_string())?;
    set_meta(conn, "cursor_hash", &cursor.hash.to_string())?;
    conn.execute(
        "INSERT OR REPLACE INTO blocks (number, hash) VALUES (?1, ?2)",
        params![to_i64(cursor.block), cursor.hash.to_string()],
    )
    .map(drop)
}

/// SQLite integers are signed; block numbers and times fit.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(block: u64) -> Cursor {
        Cursor { block, hash: B256::with_last_byte(u8::try_from(block).unwrap_or(0)) }
    }

    #[test]
    fn a_new_data_dir_and_its_store_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("data");
        let store = Store::open(&dir).expect("open");
        store.bind(31337, Address::repeat_byte(1)).expect("a write, so the WAL exists");
        let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("node.db")), 0o600);
        assert_eq!(mode(&dir.join("node.db-wal")) & 0o077, 0, "the WAL follows the database");
    }

    #[test]
    fn the_checkpoint_and_the_sealed_tip_survive_a_reopen_and_a_new_checkpoint_drops_the_tip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let checkpoint = Checkpoint { block: 7, hash: B256::repeat_byte(7) };
        let tip = SealedTip { block: 9, hash: B256::repeat_byte(9), validators: vec![Address::repeat_byte(1)] };
        {
            let store = Store::open(dir.path()).expect("open");
            assert_eq!(store.checkpoint().expect("read"), None);
            store.set_checkpoint(checkpoint).expect("kept");
            store.set_sealed_tip(checkpoint, &tip).expect("kept");
        }
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.checkpoint().expect("read"), Some(checkpoint));
        assert_eq!(store.sealed_tip(checkpoint).expect("read"), Some(tip));
        let newer = Checkpoint { block: 8, hash: B256::repeat_byte(8) };
        assert_eq!(store.sealed_tip(newer).expect("read"), None, "verified from another checkpoint");
    }

    #[test]
    fn cursor_recent_blocks_and_rewind_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.bind(31337, Address::repeat_byte(1)).expect("bind");
        for block in [3, 5, 9] {
            store.advance(&[], cursor(block)).expect("advance");
        }
        drop(store);
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.cursor().expect("cursor"), Some(cursor(9)));
        assert_eq!(store.recent().expect("recent").len(), 3);
        store.rewind(Some(cursor(5))).expect("rewind");
        assert_eq!(store.cursor().expect("cursor"), Some(cursor(5)));
        assert_eq!(store.recent().expect("recent").len(), 2);
        store.rewind(None).expect("rewind all");
        assert_eq!(store.cursor().expect("cursor"), None);
    }

    #[test]
    fn a_store_of_another_registry_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.bind(1, Address::repeat_byte(1)).expect("bind");
        store.bind(1, Address::repeat_byte(1)).expect("same registry again");
        let refused = store.bind(1, Address::repeat_byte(2)).expect_err("another registry");
        assert!(refused.to_string().contains("use another --data-dir"), "{refused}");
    }

    #[test]
    fn applied_pairs_and_the_journal_are_kept_and_readable_alongside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let service = B256::repeat_byte(7);
        assert!(!store.applied(service, 2).expect("applied"));
        store.mark_applied(service, 2, 1).expect("mark");
        assert!(store.applied(service, 2).expect("applied"));
        for (i, name) in ["a_web", "b_api", "a_web"].iter().enumerate() {
            let entry = Entry {
                at: i as u64,
                service: (*name).into(),
                revision: Some(1),
                action: "create".into(),
                result: "ok".into(),
                detail: String::new(),
            };
            store.record(&entry).expect("record");
        }
        let reader = Store::open_read_only(dir.path()).expect("a second reader while the writer is open");
        let web: Vec<u64> = reader.journal(Some("a_web"), 10).expect("journal").iter().map(|e| e.at).collect();
        assert_eq!(web, [0, 2]);
        assert_eq!(reader.journal(None, 2).expect("journal").len(), 2);
    }
}
