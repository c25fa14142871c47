//! Independent pieces of work spread over the machine's cores, their
//! results in the order of their inputs: the comparisons of a large run
//! and the series of a history are each judged on their own.

/// The cores to spread over.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Pieces of `len` items, one a core, each at least `min_piece` long (a
/// thread costs tens of microseconds to start).
fn piece(len: usize, min_piece: usize) -> usize {
    len.div_ceil(threads()).max(min_piece).max(1)
}

/// `f` of each item, in order.
pub fn map<T: Sync, R: Send>(items: &[T], min_piece: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let piece = piece(items.len(), min_piece);
    if items.len() <= piece {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(piece)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        parts.into_iter().flat_map(joined).collect()
    })
}

/// `f` of each item, taken by value, in order.
pub fn map_owned<T: Send, R: Send>(
    mut items: Vec<T>,
    min_piece: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let piece = piece(items.len(), min_piece);
    if items.len() <= piece {
        return items.into_iter().map(f).collect();
    }
    let mut parts = Vec::new();
    while items.len() > piece {
        parts.push(items.split_off(items.len() - piece));
    }
    parts.push(items);
    parts.reverse();
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || part.into_iter().map(f).collect::<Vec<_>>()))
            .collect();
        parts.into_iter().flat_map(joined).collect()
    })
}

/// A piece's results; a panic in it goes on in the caller.
fn joined<R>(h: std::thread::ScopedJoinHandle<'_, Vec<R>>) -> Vec<R> {
    h.join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_their_inputs_order() {
        let items: Vec<u32> = (0..1000).collect();
        let doubled: Vec<u32> = items.iter().map(|i| i * 2).collect();
        assert_eq!(super::map(&items, 1, |i| i * 2), doubled);
        assert_eq!(super::map_owned(items.clone(), 1, |i| i * 2), doubled);
        assert_eq!(super::map_owned(items, 7, |i| i * 2), doubled);
        assert!(super::map(&[] as &[u32], 1, |i| *i).is_empty());
    }
}
