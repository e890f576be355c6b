"""The procedures, declared once: their steps in order, who completes each step, which steps are
publicity periods (公示) with a minimum length, and each step's deadline.

A case sits on one step. ``advance`` completes the step and moves the case to the next one; only
the role of the step's level may do it (village proposes, township reviews, county approves), in
order, never skipping. Review steps may also ``reject`` the case. The last step is the end state:
reaching it applies the procedure's effect (录入, 销号, 纳入监测, 风险消除).
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fupin.accounts.roles import Role

VILLAGE, TOWNSHIP, COUNTY = "village", "township", "county"
LEVEL_ROLE = {VILLAGE: Role.VILLAGE_CADRE, TOWNSHIP: Role.TOWNSHIP_ADMIN, COUNTY: Role.COUNTY_ADMIN}
LEVEL_LABELS = {VILLAGE: _("village"), TOWNSHIP: _("township"), COUNTY: _("county")}

ADVANCE, REJECT = "advance", "reject"
REJECTED = "rejected"


@dataclass(frozen=True)
class Step:
    code: str
    label: Promise
    level: str  # the level whose role completes this step
    deadline_days: int = 10
    # A publicity period (公示): the policy parameter ``publicity_days`` with this qualifier gives
    # its minimum length; ``publicity_default`` is used when the policy holds no value.
    publicity: str = ""
    publicity_default: int = 0
    can_reject: bool = False


@dataclass(frozen=True)
class Procedure:
    code: str
    label: Promise
    steps: tuple[Step, ...]
    # The end state reached after the last step: the effect is applied on reaching it.
    final: str
    final_label: Promise

    def step(self, code: str) -> Step | None:
        return next((s for s in self.steps if s.code == code), None)

    def next_state(self, code: str) -> str | None:
        codes = [s.code for s in self.steps]
        if code not in codes:
            return None
        i = codes.index(code)
        return codes[i + 1] if i + 1 < len(codes) else self.final

    def state_label(self, code: str) -> Promise | str:
        if code == self.final:
            return self.final_label
        if code == REJECTED:
            return _("rejected")
        step = self.step(code)
        return step.label if step else code

    @property
    def states(self) -> list[str]:
        return [s.code for s in self.steps] + [self.final, REJECTED]


IDENTIFICATION = Procedure(
    "identification",
    _("Identification (精准识别)"),
    (
        Step("application", _("申请 (application)"), VILLAGE),
        Step("appraisal", _("村民代表评议 (villager representatives' appraisal)"), VILLAGE),
        Step(
            "first_publicity",
            _("第一次公示 (first publicity)"),
            VILLAGE,
            deadline_days=15,
            publicity="identification_first",
            publicity_default=7,
        ),
        Step("township_review", _("乡镇审核 (township review)"), TOWNSHIP, can_reject=True),
        Step(
            "second_publicity",
            _("第二次公示 (second publicity)"),
            TOWNSHIP,
            deadline_days=15,
            publicity="identification_second",
            publicity_default=7,
        ),
        Step("county_approval", _("县级审批 (county approval)"), COUNTY, can_reject=True),
        Step("announcement", _("公告 (announcement)"), TOWNSHIP),
    ),
    final="entered",
    final_label=_("录入 (entered in the registry)"),
)

EXIT = Procedure(
    "exit",
    _("Household exit (脱贫退出)"),
    (
        Step("appraisal", _("评议 (democratic appraisal)"), VILLAGE),
        Step("verification", _("核实 (verification)"), VILLAGE),
        Step("household_consent", _("户认可 (household agrees)"), VILLAGE),
        Step(
            "publicity",
            _("公示 (publicity)"),
            VILLAGE,
            deadline_days=15,
            publicity="exit",
            publicity_default=7,
        ),
        Step("announcement", _("公告 (announcement)"), TOWNSHIP, can_reject=True),
    ),
    final="deregistered",
    final_label=_("销号 (removed from the poor list)"),
)

MONITORING = Procedure(
    "monitoring",
    _("Monitoring against return to poverty (防返贫监测)"),
    (
        Step("discovery", _("发现 (discovery)"), VILLAGE, deadline_days=2),
        Step("home_verification", _("入户核实 (home verification, 承诺授权)"), VILLAGE, 3),
        Step("data_comparison", _("信息比对 (data comparison)"), VILLAGE, 5),
        Step(
            "village_publicity",
            _("村评议公示 (village appraisal and publicity)"),
            VILLAGE,
            deadline_days=10,
            publicity="monitoring",
            publicity_default=5,
        ),
        Step("township_review", _("乡镇审核 (township review)"), TOWNSHIP, can_reject=True),
        Step("county_approval", _("县级审批 (county approval)"), COUNTY, can_reject=True),
        Step("announcement", _("公告 (announcement)"), TOWNSHIP),
    ),
    final="monitored",
    final_label=_("纳入监测 (under monitoring)"),
)

ELIMINATION = Procedure(
    "elimination",
    _("Risk elimination (风险消除)"),
    (
        Step("proposal", _("村级提名 (village proposal)"), VILLAGE),
        Step("home_verification", _("入户核实 (verification by two people)"), VILLAGE),
        Step(
            "village_publicity",
            _("村评议公示 (village appraisal and publicity)"),
            VILLAGE,
            deadline_days=15,
            publicity="elimination",
            publicity_default=7,
        ),
        Step("township_review", _("乡镇审核 (township review)"), TOWNSHIP, can_reject=True),
        Step(
            "county_approval",
            _("县级审批 (county approval and announcement)"),
            COUNTY,
            can_reject=True,
        ),
    ),
    final="eliminated",
    final_label=_("风险消除 (risk eliminated)"),
)

PROCEDURES: dict[str, Procedure] = {
    p.code: p for p in (IDENTIFICATION, EXIT, MONITORING, ELIMINATION)
}

# Discovery channels of a monitoring case (domain.md §8).
CHANNELS = {
    "self_report": _("自主申报 (self-reported)"),
    "cadre_check": _("干部排查 (found by cadres)"),
    "department_alert": _("部门预警 (department alert)"),
}
