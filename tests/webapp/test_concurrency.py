"""Concurrent edits of one component: exactly one wins, the other is told, nothing is silently overwritten."""

from __future__ import annotations

import threading

from sqlalchemy.orm import sessionmaker

from specscan.settings import Settings
from specscan.webapp import inventory
from specscan.webapp.models import Component


def test_of_two_concurrent_edits_of_the_same_version_exactly_one_is_saved(sessions: sessionmaker,
                                                                          settings: Settings) -> None:
    with sessions.begin() as db:
        cid = inventory.create(db, inventory.check_fields({"description": "Brake disc"}, settings), actor="tina").id
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def edit(who: str) -> None:
        fields = inventory.check_fields({"description": f"Brake disc, edited by {who}"}, settings)
        start.wait()
        try:
            with sessions.begin() as db:
                inventory.update(db, cid, fields, expected_version=1, actor=who)
            outcomes[who] = "saved"
        except inventory.ConflictError:
            outcomes[who] = "conflict"

    threads = [threading.Thread(target=edit, args=(who,)) for who in ("tina", "rita")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(who for who, outcome in outcomes.items() if outcome == "saved")
    with sessions() as db:
        component = db.get(Component, cid)
        assert component.description == f"Brake disc, edited by {winner}" and component.version == 2


def test_a_classification_of_an_old_description_is_not_applied_after_an_edit(sessions: sessionmaker,
                                                                             settings: Settings) -> None:
    from webapp_support import ScriptedScoring

    class EditsWhileScoring(ScriptedScoring):
        def explain(self, text: str):  # the technician saves a new description while the service works
            with sessions.begin() as db:
                inventory.update(db, cid, inventory.check_fields({"description": "Lead-free solder"}, settings),
                                 expected_version=1, actor="rita")
            return super().explain(text)

    with sessions.begin() as db:
        cid = inventory.create(db, inventory.check_fields({"description": "Lead solder"}, settings), actor="tina").id
    inventory.classify_now(sessions, cid, EditsWhileScoring(), settings, actor="tina")
    with sessions() as db:
        component = db.get(Component, cid)
        assert component.description == "Lead-free solder" and component.status == "pending"
        assert component.model_label is None


def test_an_answer_for_a_text_the_component_no_longer_has_is_not_stored(sessions: sessionmaker,
                                                                        settings: Settings) -> None:
    from webapp_support import ScriptedScoring

    with sessions.begin() as db:
        cid = inventory.create(db, inventory.check_fields({"description": "Lead-free solder"}, settings),
                               actor="tina").id
    answer = ScriptedScoring().explain("Lead solder")
    with sessions.begin() as db:
        assert not inventory.apply(db, cid, "Lead solder", answer, settings, actor="scoring-retry")
    with sessions() as db:
        component = db.get(Component, cid)
        assert component.status == "pending" and component.model_label is None


def test_saving_an_unchanged_form_makes_no_new_version_and_no_conflict_for_others(sessions: sessionmaker,
                                                                                  settings: Settings) -> None:
    fields = inventory.check_fields({"description": "Brake disc"}, settings)
    with sessions.begin() as db:
        cid = inventory.create(db, fields, actor="tina").id
    with sessions.begin() as db:
        _, reclassify = inventory.update(db, cid, fields, expected_version=1, actor="tina")
        assert not reclassify
    with sessions.begin() as db:  # rita, who opened the form on version 1 too, saves her change
        inventory.update(db, cid, inventory.check_fields({"description": "Brake disc, vented"}, settings),
                         expected_version=1, actor="rita")
    with sessions() as db:
        assert db.get(Component, cid).version == 2


def test_two_admins_removing_each_other_at_once_leave_one_admin(sessions: sessionmaker) -> None:
    from sqlalchemy import func, select
    from webapp_support import PASSWORD

    from specscan.webapp import accounts
    from specscan.webapp.models import User

    with sessions.begin() as db:
        accounts.create_user(db, "bea", PASSWORD, "admin", actor="test")
    start = threading.Barrier(2)
    refused: list[str] = []

    def deactivate(actor: str, target: str) -> None:
        with sessions() as db:
            user = db.scalars(select(User).where(User.username == target)).one()
            start.wait()
            try:
                accounts.set_active(db, user, False, actor=actor)
                db.commit()
            except accounts.AccountError:
                db.rollback()
                refused.append(actor)

    threads = [threading.Thread(target=deactivate, args=pair) for pair in (("ada", "bea"), ("bea", "ada"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active)) == 1
    assert len(refused) == 1
