//! The by-date order of an athlete's activities, and a position in it: what the activity
//! list pages by, what a rescore resumes from, and what every store follows.

use crate::LocalDate;
use crate::model::{ActivityId, StoredActivity};

/// A position in an athlete's activities, newest first: everything strictly before `date`
/// (and, on that date, before `activity` in the by-date order). The by-date order is the
/// local date, then, within a date, the activity id's decimal digits compared as text
/// (`"10" < "9"`): the order of the DynamoDB index, whose sort key is that text, and the
/// order every store follows (the contract suite holds both to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActivityCursor {
    pub date: LocalDate,
    pub activity: Option<ActivityId>,
}

impl ActivityCursor {
    /// The cursor just past `a` (for the next page).
    pub fn after(a: &StoredActivity) -> Self {
        ActivityCursor { date: a.local_date, activity: Some(a.activity_id) }
    }

    /// Whether `a` comes before this cursor in the by-date order (is on the next page).
    pub fn precedes(&self, a: &StoredActivity) -> bool {
        match (a.local_date.cmp(&self.date), self.activity) {
            (std::cmp::Ordering::Less, _) => true,
            (std::cmp::Ordering::Equal, Some(id)) => same_day_order(a.activity_id, id).is_lt(),
            _ => false,
        }
    }
}

/// The by-date order of two activities (oldest first; see [`ActivityCursor`]).
pub fn by_date_order(a: &StoredActivity, b: &StoredActivity) -> std::cmp::Ordering {
    a.local_date.cmp(&b.local_date).then_with(|| same_day_order(a.activity_id, b.activity_id))
}

/// Two ids of one date: their decimal digits as text, without making the strings.
fn same_day_order(a: ActivityId, b: ActivityId) -> std::cmp::Ordering {
    let mut da = [0u8; 20];
    let mut db = [0u8; 20];
    digits(a, &mut da).cmp(digits(b, &mut db))
}

fn digits(id: ActivityId, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = id.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}
