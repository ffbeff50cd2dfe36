use super::*;

fn group(request_ids: &[&str]) -> QueuedGroup {
    QueuedGroup {
        shared: "{}".into(),
        received_ms: 1,
        targets: request_ids
            .iter()
            .map(|id| GroupTarget {
                request_id: (*id).into(),
                function_name: "f".into(),
                qualifier: String::new(),
                variant: format!("sub-{id}"),
            })
            .collect(),
        chain_depth: 0,
    }
}

fn members(store: &Store) -> Vec<String> {
    store
        .due_events(i64::MAX, 10)
        .unwrap()
        .into_iter()
        .flat_map(|(_, queued)| match queued {
            Queued::Group(g) => g.targets.into_iter().map(|t| t.request_id).collect(),
            Queued::Event(e) => vec![e.request_id],
        })
        .collect()
}

#[test]
fn members_leave_their_group_and_the_count_follows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.enqueue_groups(5, &[group(&["a", "b", "c"])]).unwrap();
    assert_eq!(store.queue_depth(), 3);
    let key = store.due_events(5, 1).unwrap().remove(0).0;

    store.remove_members(&key, &["a", "c"]).unwrap();
    assert_eq!(members(&store), ["b"]);
    assert_eq!(store.queue_depth(), 1);

    // Removing one already gone changes nothing; the last takes the group.
    store.remove_members(&key, &["a"]).unwrap();
    assert_eq!(store.queue_depth(), 1);
    store.remove_members(&key, &["b", "a"]).unwrap();
    assert!(members(&store).is_empty());
    assert_eq!(store.queue_depth(), 0);
    store.remove_members(&key, &["b"]).unwrap();
    assert_eq!(store.queue_depth(), 0);
}

#[test]
fn several_groups_are_queued_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .enqueue_groups(5, &[group(&["a", "b"]), group(&["c"])])
        .unwrap();
    assert_eq!(members(&store), ["a", "b", "c"]);
    assert_eq!(store.queue_depth(), 3);
    // The count is rebuilt from the queue when the store opens again.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.queue_depth(), 3);
}
