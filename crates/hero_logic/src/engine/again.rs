//! Running a finished (or unfinished) top-level Play again: `play_rerun` starts it anew with
//! the same inputs; `play_fork` starts it anew too, but hands the new run the recorded
//! results of the steps before a chosen one, so that those steps are replayed (their outputs
//! returned, their side effects not run again) and the rest runs fresh (docs/protocol.md,
//! "Re-run and fork").

use std::collections::HashMap;

use hero_logic_api::params::{Limits, StepRef};
use hero_logic_api::{Logic, LogicVersion, Play};

use super::{inputs, lifecycle, Engine};
use crate::error::{ServiceError, ServiceResult};
use crate::now_ms;

impl Engine {
    /// A new top-level Play with the same logic, version, inputs and limits as `play_sid`.
    pub fn rerun(&self, play_sid: &str) -> ServiceResult<Play> {
        let source = self.top_level(play_sid, "re-run")?;
        let (logic, version) = self.logic_and_version(&source, &source.logic_version_sid)?;
        let limits = self.core.library.store().play_limits(&source.sid)?;
        self.queue_top_level(&logic, &version, source.input_data, limits, Vec::new())
    }

    /// A new top-level Play of `play_sid`'s logic (on `version`, else the same version) whose
    /// steps before `from_step` are copies of the recorded ones, finished: the run replays
    /// them and runs from `from_step` on fresh.
    pub fn fork(&self, play_sid: &str, from_step: &StepRef, version: Option<&str>) -> ServiceResult<Play> {
        let store = self.core.library.store();
        let mut tree = store.play_tree(play_sid)?.into_iter();
        let source = tree.next().ok_or_else(|| super::unknown_play(play_sid))?;
        let source = self.top_level_of(source, "fork")?;
        let recorded: Vec<Play> = tree.collect();
        let version_sid = match version.filter(|v| !v.is_empty()) {
            Some(v) => {
                let logic = self.core.library.resolve_logic(&source.logic_sid)?;
                self.core.library.resolve_version(&logic, v).map_err(|e| e.within("version"))?.sid
            }
            None => source.logic_version_sid.clone(),
        };
        let (logic, version) = self.logic_and_version(&source, &version_sid)?;
        let kept = steps_before(&source, &recorded, from_step)?;
        let limits = store.play_limits(&source.sid)?;
        let sids = std::iter::repeat_with(|| self.core.next_sid());
        let root_sid = self.core.next_sid()?;
        let (children, step_outputs, descendants) = copy_steps(&source, &recorded, kept, &root_sid, sids)?;
        let root = Play { sid: root_sid, sub_play_sids: children, step_outputs, ..Default::default() };
        self.queue_run(root, &logic, &version, source.input_data, limits, descendants)
    }

    /// Checks the inputs and limits, then writes a new top-level Play `pending` (with its
    /// copied `descendants`, if any) and queues it.
    pub(super) fn queue_top_level(
        &self,
        logic: &Logic,
        version: &LogicVersion,
        given: serde_json::Map<String, serde_json::Value>,
        limits: Option<Limits>,
        descendants: Vec<Play>,
    ) -> ServiceResult<Play> {
        // Top-level and child Plays take sids from one allocator, so sids grow in the order
        // Plays are created.
        let root = Play { sid: self.core.next_sid()?, ..Default::default() };
        self.queue_run(root, logic, version, given, limits, descendants)
    }

    fn queue_run(
        &self,
        root: Play,
        logic: &Logic,
        version: &LogicVersion,
        given: serde_json::Map<String, serde_json::Value>,
        limits: Option<Limits>,
        descendants: Vec<Play>,
    ) -> ServiceResult<Play> {
        let budget = self.core.settings.defaults.with(limits.as_ref()).map_err(|(field, message)| {
            ServiceError::validation(field, message, "leave the limit out to use the service.toml default")
        })?;
        let input_data = inputs::check(&version.inputs, given)?;
        let play = Play {
            logic_sid: logic.sid.clone(),
            logic_version_sid: version.sid.clone(),
            name: logic.name.clone(),
            status: lifecycle::created(lifecycle::Origin::TopLevel),
            input_data,
            created_at: now_ms(),
            ..root
        };
        let play = self.core.library.store().play_insert_run(&play, &limits.unwrap_or_default(), &descendants)?;
        self.enqueue_new(&play.sid, budget)?;
        Ok(play)
    }

    fn top_level(&self, play_sid: &str, what: &str) -> ServiceResult<Play> {
        let play = self.core.library.store().play_get(play_sid)?.ok_or_else(|| super::unknown_play(play_sid))?;
        self.top_level_of(play, what)
    }

    /// `play` when it is a top-level Play; a child is refused, naming its top-level Play.
    fn top_level_of(&self, play: Play, what: &str) -> ServiceResult<Play> {
        if play.parent_play_sid.is_empty() {
            return Ok(play);
        }
        let root = self.root_of(play.clone())?;
        Err(ServiceError::validation(
            "play_sid",
            format!("Play {} is a step of Play {}; only a top-level Play can be {what}", play.sid, root.sid),
            format!("{what} Play {} instead", root.sid),
        ))
    }

    fn logic_and_version(&self, source: &Play, version_sid: &str) -> ServiceResult<(Logic, LogicVersion)> {
        let store = self.core.library.store();
        let logic = store.logic_get(&source.logic_sid)?.ok_or_else(|| {
            ServiceError::not_found(format!("the logic Play {} ran no longer exists", source.sid), "")
        })?;
        let version = store.version_get(version_sid)?.ok_or_else(|| {
            ServiceError::not_found(
                format!("version {version_sid} of logic {:?} no longer exists", logic.name),
                "name another version with `version`",
            )
        })?;
        Ok((logic, version))
    }
}

/// The source's children before `from_step`, in call order; each must have ended.
fn steps_before<'a>(source: &'a Play, recorded: &[Play], from_step: &StepRef) -> ServiceResult<&'a [String]> {
    let steps = &source.sub_play_sids;
    let index = match from_step {
        StepRef::Index(n) => {
            let n = *n as usize;
            if n > steps.len() {
                return Err(ServiceError::validation(
                    "from_step",
                    format!("Play {} has {} steps (0 to {}); there is no step {n}", source.sid, steps.len(), steps.len().saturating_sub(1)),
                    "name a step by its place among the Play's child calls, from 0, or by its step key",
                ));
            }
            n
        }
        StepRef::Key(key) => {
            let by_sid: HashMap<&str, &Play> = recorded.iter().map(|p| (p.sid.as_str(), p)).collect();
            let keys: Vec<&str> = steps.iter().filter_map(|sid| by_sid.get(sid.as_str())).map(|p| p.step_key.as_str()).collect();
            keys.iter().position(|k| k == key).ok_or_else(|| {
                ServiceError::validation(
                    "from_step",
                    format!("Play {} has no step with the key {key:?}", source.sid),
                    format!("its steps are: {}", keys.join(", ")),
                )
            })?
        }
    };
    let kept = &steps[..index];
    let by_sid: HashMap<&str, &Play> = recorded.iter().map(|p| (p.sid.as_str(), p)).collect();
    if let Some(open) = kept.iter().filter_map(|sid| by_sid.get(sid.as_str())).find(|p| !p.status.is_terminal()) {
        return Err(ServiceError::InvalidState {
            message: format!("step {} of Play {} is still {}; a fork takes only steps that ended", open.sid, source.sid, open.status.as_str()),
            hint: "fork from that step or an earlier one, or wait for the Play to end".into(),
        });
    }
    Ok(kept)
}

/// Copies of the `kept` children of `source` and of all their descendants, under fresh sids
/// (taken in creation order, so a copied tree reads back in the same order) and re-parented
/// under `root_sid`; with the root's children and the source's memos of those steps.
#[allow(clippy::type_complexity)]
fn copy_steps(
    source: &Play,
    recorded: &[Play],
    kept: &[String],
    root_sid: &str,
    mut sids: impl Iterator<Item = crate::store::StoreResult<String>>,
) -> ServiceResult<(Vec<String>, std::collections::BTreeMap<String, serde_json::Value>, Vec<Play>)> {
    let mut renamed: HashMap<String, String> = HashMap::new();
    renamed.insert(source.sid.clone(), root_sid.to_string());
    let mut copies = Vec::new();
    let mut step_keys = Vec::new();
    // `recorded` is in creation order: a parent comes before its children.
    for play in recorded {
        let is_kept_step = play.parent_play_sid == source.sid && kept.contains(&play.sid);
        let Some(parent) = renamed.get(&play.parent_play_sid).cloned() else { continue };
        if play.parent_play_sid == source.sid && !is_kept_step {
            continue;
        }
        let sid = sids.next().expect("an endless iterator")?;
        renamed.insert(play.sid.clone(), sid.clone());
        if is_kept_step {
            step_keys.push(play.step_key.clone());
        }
        copies.push(Play { sid, parent_play_sid: parent, replayed: true, ..play.clone() });
    }
    for copy in &mut copies {
        copy.sub_play_sids = copy.sub_play_sids.iter().filter_map(|sid| renamed.get(sid).cloned()).collect();
    }
    let children = kept.iter().filter_map(|sid| renamed.get(sid).cloned()).collect();
    let memos = source.step_outputs.iter().filter(|(key, _)| step_keys.contains(key)).map(|(k, v)| (k.clone(), v.clone())).collect();
    Ok((children, memos, copies))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_logic_api::PlayStatus;

    fn play(sid: &str, parent: &str, key: &str, children: &[&str]) -> Play {
        Play {
            sid: sid.into(),
            parent_play_sid: parent.into(),
            step_key: key.into(),
            status: PlayStatus::Success,
            sub_play_sids: children.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        }
    }

    fn fixture() -> (Play, Vec<Play>) {
        let mut root = play("r", "", "", &["a", "b", "c"]);
        for key in ["s:0:x", "s:1:y", "s:2:z"] {
            root.step_outputs.insert(key.into(), serde_json::json!({ "k": key }));
        }
        let recorded = vec![
            play("a", "r", "s:0:x", &["a1"]),
            play("a1", "a", "t:0:q", &[]),
            play("b", "r", "s:1:y", &[]),
            play("c", "r", "s:2:z", &["c1"]),
            play("c1", "c", "t:0:w", &[]),
        ];
        (root, recorded)
    }

    fn fresh_sids() -> impl Iterator<Item = crate::store::StoreResult<String>> {
        (100..).map(|n: u32| Ok(format!("n{n}")))
    }

    #[test]
    fn a_fork_copies_the_steps_before_with_their_subtrees_and_memos() {
        let (root, recorded) = fixture();
        let kept = steps_before(&root, &recorded, &StepRef::Index(2)).unwrap();
        assert_eq!(kept, ["a", "b"]);
        let (children, memos, copies) = copy_steps(&root, &recorded, kept, "new", fresh_sids()).unwrap();
        assert_eq!(children, ["n100", "n102"]);
        assert_eq!(memos.keys().collect::<Vec<_>>(), ["s:0:x", "s:1:y"]);
        let shape: Vec<(&str, &str, &str)> =
            copies.iter().map(|p| (p.sid.as_str(), p.parent_play_sid.as_str(), p.step_key.as_str())).collect();
        assert_eq!(shape, [("n100", "new", "s:0:x"), ("n101", "n100", "t:0:q"), ("n102", "new", "s:1:y")]);
        assert_eq!(copies[0].sub_play_sids, ["n101"]);
        assert!(copies.iter().all(|p| p.replayed));
    }

    #[test]
    fn a_step_is_named_by_its_place_or_its_key() {
        let (root, recorded) = fixture();
        assert_eq!(steps_before(&root, &recorded, &StepRef::Key("s:1:y".into())).unwrap(), ["a"]);
        assert!(steps_before(&root, &recorded, &StepRef::Index(0)).unwrap().is_empty());
        assert_eq!(steps_before(&root, &recorded, &StepRef::Index(3)).unwrap().len(), 3);
        let err = steps_before(&root, &recorded, &StepRef::Index(4)).unwrap_err().to_string();
        assert!(err.contains("has 3 steps") && err.contains("no step 4"), "{err}");
        let err = steps_before(&root, &recorded, &StepRef::Key("nope".into())).unwrap_err();
        assert!(format!("{err:?}").contains("s:0:x, s:1:y, s:2:z"), "{err:?}");
    }

    #[test]
    fn a_fork_refuses_an_unfinished_step_before_the_one_named() {
        let (root, mut recorded) = fixture();
        recorded[2].status = PlayStatus::Running;
        let err = steps_before(&root, &recorded, &StepRef::Index(2)).unwrap_err().to_string();
        assert!(err.contains("still running"), "{err}");
        assert!(steps_before(&root, &recorded, &StepRef::Index(1)).is_ok());
    }
}
