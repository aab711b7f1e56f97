//! The candidates of an AuthZEN search: ids of stored entities of one type, in
//! id order after a keyset cursor, within a tenant or an account when the
//! ledger keeps that type per tenant. Pages of ids only: the caller builds and
//! evaluates each candidate. Each backend answers [`super::Conn::candidates`].

use super::rows::CATEGORIES;

/// Where candidates are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within<'a> {
    /// Every stored entity of the type.
    All,
    /// The entities of one tenant (ledger types).
    Tenant(&'a str),
    /// The entities of one account's tenants (ledger types).
    Account(&'a str),
}

/// A subscription cursor: numbers sort as numbers (`""` is before all).
pub(crate) fn number_cursor(after: &str) -> i64 {
    if after.is_empty() {
        0
    } else {
        after.parse().unwrap_or(i64::MAX)
    }
}

/// The categories after `after`, in name order (they are not rows).
pub(crate) fn categories_after(after: &str, limit: i64) -> Vec<String> {
    let mut names: Vec<&str> = CATEGORIES.iter().copied().filter(|c| *c > after).collect();
    names.sort_unstable();
    names.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    names.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_page_in_name_order_after_the_cursor() {
        let all = categories_after("", 100);
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        assert_eq!(all.len(), CATEGORIES.len());
        assert_eq!(categories_after(&all[2], 2), all[3..5].to_vec());
    }

    #[test]
    fn a_number_cursor_orders_numerically() {
        assert_eq!(number_cursor(""), 0);
        assert_eq!(number_cursor("12"), 12);
        assert_eq!(number_cursor("x"), i64::MAX);
    }
}
