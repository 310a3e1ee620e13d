//! SQS FIFO on a virtual clock, one queue per lane: what the simulation's consumers read.
//!
//! The rules modelled are SQS's own: a message group delivers in order and holds back its
//! later messages while one is in flight or hidden; a receive returns up to ten messages,
//! as many of one group as it can, groups in the order their head was sent; a message
//! received more than `maxReceiveCount` times moves to the dead-letter queue; a
//! deduplication id seen in the last five minutes is dropped; visibility changes hide a
//! message until a given time. Every API call is counted, for the bill.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use stravasync_core::job::{Lane, QueueMessage};
use stravasync_core::ports::{EventQueue, QueueError};

/// Deduplication ids kept before expired ones are dropped (a bound on memory, not on
/// behaviour: an expired id is ignored whether kept or not).
const DEDUP_PRUNE_MIN: usize = 50_000;

/// SQS FIFO's deduplication interval.
const DEDUP_WINDOW_S: i64 = 300;

/// Unix seconds of the simulation, shared by every part that reads a clock.
#[derive(Clone, Default)]
pub struct VirtualClock(Arc<AtomicI64>);

impl VirtualClock {
    pub fn new(now: i64) -> Self {
        VirtualClock(Arc::new(AtomicI64::new(now)))
    }

    pub fn now(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::Relaxed);
    }

    /// As a clock function for the Strava client and fake-strava.
    pub fn as_fn(&self) -> stravasync_core::clock::Clock {
        let c = self.clone();
        Arc::new(move || c.now())
    }
}

/// A message as a receive hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub receipt_handle: String,
    pub message_id: String,
    pub group_id: String,
    pub dedup_id: String,
    pub body: String,
    pub receive_count: u32,
    /// `SentTimestamp`, Unix seconds.
    pub sent_at: i64,
}

struct Msg {
    seq: u64,
    group: String,
    dedup: String,
    body: String,
    sent_at: i64,
    visible_at: i64,
    receive_count: u32,
    in_flight: bool,
}

/// A message group: its messages in order, and how many of them are in flight.
#[derive(Default)]
struct Group {
    ids: VecDeque<u64>,
    in_flight: usize,
}

#[derive(Default)]
struct LaneQueue {
    msgs: HashMap<u64, Msg>,
    groups: HashMap<String, Group>,
    /// Groups whose head may be received now, by the head's send order.
    ready: BTreeSet<(u64, String)>,
    ready_key: HashMap<String, u64>,
    /// Heads hidden until a time: `(visible_at, message id)`; at most one entry per group
    /// is current (`waiting_key`), others are skipped when they come up.
    waiting: BinaryHeap<Reverse<(i64, u64)>>,
    waiting_key: HashMap<String, (i64, u64)>,
    dedup: HashMap<String, i64>,
    /// Size at which expired deduplication ids are dropped next: twice what a prune kept
    /// (at least [`DEDUP_PRUNE_MIN`]), so a window busier than that is not swept on every send.
    dedup_prune_at: usize,
}

impl LaneQueue {
    /// Puts the group in `ready` or `waiting` as its head and in-flight messages say.
    fn refresh(&mut self, group: &str, now: i64) {
        if let Some(seq) = self.ready_key.remove(group) {
            self.ready.remove(&(seq, group.to_string()));
        }
        let Some(g) = self.groups.get(group) else { return };
        if g.in_flight > 0 {
            return;
        }
        let Some(head) = g.ids.front().map(|id| (*id, &self.msgs[id])) else { return };
        if head.1.visible_at <= now {
            self.ready.insert((head.1.seq, group.to_string()));
            self.ready_key.insert(group.to_string(), head.1.seq);
        } else {
            let key = (head.1.visible_at, head.0);
            if self.waiting_key.insert(group.to_string(), key) != Some(key) {
                self.waiting.push(Reverse(key));
            }
        }
    }

    fn remove(&mut self, id: u64, now: i64) -> Option<Msg> {
        let msg = self.msgs.remove(&id)?;
        if let Some(g) = self.groups.get_mut(&msg.group) {
            if let Some(at) = g.ids.iter().position(|m| *m == id) {
                g.ids.remove(at);
            }
            g.in_flight -= usize::from(msg.in_flight);
            if g.ids.is_empty() {
                self.groups.remove(&msg.group);
            }
        }
        self.refresh(&msg.group.clone(), now);
        Some(msg)
    }

    fn depth(&self) -> usize {
        self.msgs.len()
    }

    /// Drops waiting entries that are no longer current, so the top is a real wake-up.
    fn prune_waiting(&mut self) {
        while let Some(Reverse((at, id))) = self.waiting.peek().copied() {
            let current = self.msgs.get(&id).is_some_and(|m| self.waiting_key.get(&m.group) == Some(&(at, id)));
            if current {
                return;
            }
            self.waiting.pop();
        }
    }
}

#[derive(Default)]
struct Queues {
    lanes: [LaneQueue; 2],
    dlq: Vec<(QueueMessage, String)>,
    next_id: u64,
    /// SQS API calls: sends, receives, deletes, visibility changes.
    requests: u64,
    redriven: u64,
}

fn lane_index(lane: Lane) -> usize {
    match lane {
        Lane::Events => 0,
        Lane::Background => 1,
    }
}

/// Both lanes' queues and their dead-letter queue. Clones share the queues.
#[derive(Clone)]
pub struct SimQueue {
    inner: Arc<Mutex<Queues>>,
    clock: VirtualClock,
    /// Each lane's `maxReceiveCount`.
    max_receive_count: [u32; 2],
}

impl SimQueue {
    /// Queues whose redrive policies move a message after `events` / `background` receives.
    pub fn new(clock: VirtualClock, events: u32, background: u32) -> Self {
        SimQueue { inner: Arc::default(), clock, max_receive_count: [events, background] }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Queues) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn locate(handle: &str) -> Option<(usize, u64)> {
        let (lane, id) = handle.split_once(':')?;
        Some((lane.parse().ok()?, id.parse().ok()?))
    }

    /// Sends a message to its lane's queue; false if dropped as a duplicate.
    pub fn send(&self, message: &QueueMessage) -> bool {
        let now = self.clock.now();
        self.with(|q| {
            q.requests += 1;
            let lane = &mut q.lanes[lane_index(message.lane())];
            if lane.dedup.get(&message.dedup_id).is_some_and(|t| now - t < DEDUP_WINDOW_S) {
                return false;
            }
            if lane.dedup.len() > lane.dedup_prune_at.max(DEDUP_PRUNE_MIN) {
                lane.dedup.retain(|_, t| now - *t < DEDUP_WINDOW_S);
                lane.dedup_prune_at = lane.dedup.len() * 2;
            }
            lane.dedup.insert(message.dedup_id.clone(), now);
            q.next_id += 1;
            let id = q.next_id;
            let lane = &mut q.lanes[lane_index(message.lane())];
            lane.msgs.insert(
                id,
                Msg {
                    seq: id,
                    group: message.group_id.clone(),
                    dedup: message.dedup_id.clone(),
                    body: message.body.clone(),
                    sent_at: now,
                    visible_at: now,
                    receive_count: 0,
                    in_flight: false,
                },
            );
            let g = lane.groups.entry(message.group_id.clone()).or_default();
            g.ids.push_back(id);
            if g.ids.len() == 1 {
                lane.refresh(&message.group_id, now);
            }
            true
        })
    }

    /// Up to `max` messages of `lane`, as one ReceiveMessage call.
    pub fn receive(&self, lane: Lane, max: usize) -> Vec<Delivered> {
        let now = self.clock.now();
        let max_receives = self.max_receive_count[lane_index(lane)];
        self.with(|q| {
            let li = lane_index(lane);
            let mut out = Vec::new();
            let mut redriven = Vec::new();
            {
                let lq = &mut q.lanes[li];
                while let Some(Reverse((at, id))) = lq.waiting.peek().copied() {
                    if at > now {
                        break;
                    }
                    lq.waiting.pop();
                    let Some(group) = lq.msgs.get(&id).map(|m| m.group.clone()) else { continue };
                    if lq.waiting_key.get(&group) == Some(&(at, id)) {
                        lq.waiting_key.remove(&group);
                        lq.refresh(&group, now);
                    }
                }
                while out.len() < max {
                    let Some((_, group)) = lq.ready.pop_first() else { break };
                    lq.ready_key.remove(&group);
                    let mut at = 0;
                    while out.len() < max {
                        let Some(id) = lq.groups.get(&group).and_then(|g| g.ids.get(at).copied()) else { break };
                        at += 1;
                        let Some(m) = lq.msgs.get_mut(&id) else { continue };
                        if m.visible_at > now || m.in_flight {
                            break;
                        }
                        m.receive_count += 1;
                        if m.receive_count > max_receives {
                            if let Some(m) = lq.remove(id, now) {
                                redriven.push(QueueMessage { group_id: m.group, dedup_id: m.dedup, body: m.body });
                            }
                            at -= 1;
                            continue;
                        }
                        m.in_flight = true;
                        if let Some(g) = lq.groups.get_mut(&group) {
                            g.in_flight += 1;
                        }
                        out.push(Delivered {
                            receipt_handle: format!("{li}:{id}"),
                            message_id: format!("m{id}"),
                            group_id: m.group.clone(),
                            dedup_id: m.dedup.clone(),
                            body: m.body.clone(),
                            receive_count: m.receive_count,
                            sent_at: m.sent_at,
                        });
                    }
                    lq.refresh(&group, now);
                }
            }
            for message in redriven {
                q.redriven += 1;
                q.dlq.push((message, "maxReceiveCount".into()));
            }
            if !out.is_empty() {
                q.requests += 1;
            }
            out
        })
    }

    /// Deletes received messages (one DeleteMessageBatch call).
    pub fn delete_batch(&self, handles: &[&str]) {
        if handles.is_empty() {
            return;
        }
        let now = self.clock.now();
        self.with(|q| {
            q.requests += 1;
            for h in handles {
                if let Some((li, id)) = Self::locate(h) {
                    q.lanes[li].remove(id, now);
                }
            }
        })
    }

    /// Messages waiting (visible, hidden or in flight) in `lane`.
    pub fn depth(&self, lane: Lane) -> usize {
        self.with(|q| q.lanes[lane_index(lane)].depth())
    }

    /// The earliest time a hidden head of `lane` becomes visible.
    pub fn next_visible(&self, lane: Lane) -> Option<i64> {
        self.with(|q| {
            let lq = &mut q.lanes[lane_index(lane)];
            lq.prune_waiting();
            lq.waiting.peek().map(|Reverse((at, _))| *at)
        })
    }

    /// SQS API calls so far.
    pub fn requests(&self) -> u64 {
        self.with(|q| q.requests)
    }

    /// What reached the dead-letter queue: `(message, reason)`.
    pub fn dead_letters(&self) -> Vec<(QueueMessage, String)> {
        self.with(|q| q.dlq.clone())
    }

    /// Messages moved by the redrive policy (receives past `maxReceiveCount`).
    pub fn redriven(&self) -> u64 {
        self.with(|q| q.redriven)
    }
}

impl EventQueue for SimQueue {
    async fn enqueue(&self, message: &QueueMessage) -> Result<(), QueueError> {
        self.send(message);
        Ok(())
    }

    async fn defer(&self, receipt_handle: &str, delay_secs: u32) -> Result<(), QueueError> {
        let now = self.clock.now();
        let (li, id) = Self::locate(receipt_handle).ok_or_else(|| QueueError::Rejected("bad receipt handle".into()))?;
        self.with(|q| {
            q.requests += 1;
            let lq = &mut q.lanes[li];
            let Some(m) = lq.msgs.get_mut(&id) else { return };
            if m.in_flight
                && let Some(g) = lq.groups.get_mut(&m.group)
            {
                g.in_flight -= 1;
            }
            m.in_flight = false;
            m.visible_at = now + i64::from(delay_secs.min(stravasync_core::job::MAX_VISIBILITY_S));
            let group = m.group.clone();
            lq.refresh(&group, now);
        });
        Ok(())
    }

    async fn dead_letter(&self, receipt_handle: &str, message: &QueueMessage, reason: &str) -> Result<(), QueueError> {
        let now = self.clock.now();
        self.with(|q| {
            q.requests += 2;
            q.dlq.push((message.clone(), reason.to_string()));
            if let Some((li, id)) = Self::locate(receipt_handle) {
                q.lanes[li].remove(id, now);
            }
        });
        Ok(())
    }

    async fn resend(&self, receipt_handle: &str, copy: &QueueMessage) -> Result<(), QueueError> {
        self.send(copy);
        self.delete_batch(&[receipt_handle]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(group: &str, dedup: &str) -> QueueMessage {
        QueueMessage { group_id: group.into(), dedup_id: dedup.into(), body: dedup.into() }
    }

    #[tokio::test]
    async fn groups_deliver_in_order_and_hold_while_in_flight_or_hidden() {
        let clock = VirtualClock::new(1_000);
        let q = SimQueue::new(clock.clone(), 20, 20);
        for (g, d) in [("athlete-1", "a1"), ("athlete-2", "b1"), ("athlete-1", "a2"), ("athlete-1", "a1")] {
            q.send(&msg(g, d));
        }
        assert_eq!(q.depth(Lane::Events), 3, "the duplicate is dropped");
        let first = q.receive(Lane::Events, 2);
        assert_eq!(first.iter().map(|d| d.body.as_str()).collect::<Vec<_>>(), ["a1", "a2"], "one group's run first");
        assert_eq!(q.receive(Lane::Events, 10).iter().map(|d| d.body.as_str()).collect::<Vec<_>>(), ["b1"]);
        assert!(q.receive(Lane::Events, 10).is_empty(), "group 1 in flight");
        q.defer(&first[0].receipt_handle, 60).await.unwrap();
        q.defer(&first[1].receipt_handle, 0).await.unwrap();
        assert!(q.receive(Lane::Events, 10).is_empty(), "the head is hidden: the group waits");
        clock.set(1_060);
        let again = q.receive(Lane::Events, 10);
        assert_eq!(
            again.iter().map(|d| (d.body.as_str(), d.receive_count)).collect::<Vec<_>>(),
            [("a1", 2), ("a2", 2)]
        );
        q.delete_batch(&[&again[0].receipt_handle, &again[1].receipt_handle]);
        assert_eq!(q.depth(Lane::Events), 1);
    }

    #[tokio::test]
    async fn past_max_receives_a_message_is_redriven() {
        let clock = VirtualClock::new(0);
        let q = SimQueue::new(clock.clone(), 2, 2);
        q.send(&msg("background-1", "x"));
        for _ in 0..2 {
            let d = q.receive(Lane::Background, 10);
            q.defer(&d[0].receipt_handle, 0).await.unwrap();
        }
        assert!(q.receive(Lane::Background, 10).is_empty());
        assert_eq!((q.redriven(), q.dead_letters().len(), q.depth(Lane::Background)), (1, 1, 0));
    }
}
