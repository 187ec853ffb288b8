"""Who depends on whom: the owners of the policy, built in dependency order.

Each owner receives exactly the owners it reads or asks (constructor arguments, never
set later), so the order below is the dependency graph: nothing refers to an owner
built after it. Decisions that have to travel the other way (a fence that frees the
peer's groups, a shutdown that began) return to the planner, which routes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config.model import ClusterConfig
from engine.core.policy.admin import Admin
from engine.core.policy.convergence import Convergence
from engine.core.policy.failback import Failback
from engine.core.policy.fencing import FencingBook
from engine.core.policy.holdings import Holdings
from engine.core.policy.ipfail import IpfailLink
from engine.core.policy.jobs import JobQueue
from engine.core.policy.legacy import Legacy
from engine.core.policy.messages import MessageRouter
from engine.core.policy.monitor_book import MonitorBook
from engine.core.policy.monitors import MonitorChecks
from engine.core.policy.negotiation import Acquisition, Negotiation
from engine.core.policy.oneway import OneWay
from engine.core.policy.outbox import Outbox
from engine.core.policy.peer import PeerView
from engine.core.policy.pushes import PushSchedule
from engine.core.policy.recovery import MonitorRecovery
from engine.core.policy.selffence import SelfFence
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.stability import Stability
from engine.core.policy.standby import Standby
from engine.core.policy.startup import Startup
from engine.core.policy.status import StatusView
from engine.core.policy.takeover import Takeover


@dataclass(frozen=True, slots=True)
class Owners:
    """The owners the planner routes inputs to (the others are reached through them)."""

    sides: Sides
    out: Outbox
    holdings: Holdings
    peer: PeerView
    negotiation: Negotiation
    pushes: PushSchedule
    jobs: JobQueue
    shutdown: Shutdown
    standby: Standby
    stability: Stability
    failback: Failback
    oneway: OneWay
    fencing: FencingBook
    convergence: Convergence
    startup: Startup
    takeover: Takeover
    selffence: SelfFence
    admin: Admin
    recovery: MonitorRecovery
    checks: MonitorChecks
    ipfail: IpfailLink
    router: MessageRouter
    status: StatusView


def build_owners(
    config: ClusterConfig,
    rsc_delay: float,
    fence_delay: float,
    fence_retry: tuple[float, float],
) -> Owners:
    """Every owner of the policy for ``config``, wired together."""
    sides, out, peer = Sides(config), Outbox(), PeerView()
    holdings = Holdings(sides, out)
    negotiation, acquisition = Negotiation(rsc_delay), Acquisition()
    pushes, book = PushSchedule(), MonitorBook(config.monitor)
    jobs = JobQueue(sides, holdings, out, pushes, acquisition, book)
    shutdown = Shutdown(sides, out, holdings, peer, negotiation, pushes, jobs)
    standby = Standby(sides, out, holdings, peer, negotiation, jobs, acquisition, shutdown)
    stability = Stability(sides, negotiation, peer, standby, jobs, shutdown)
    failback = Failback(sides, out, holdings, peer, negotiation, standby, shutdown)
    oneway = OneWay(
        config, sides, out, holdings, peer, negotiation, jobs,
        pushes=pushes, standby=standby, failback=failback, shutdown=shutdown,
    )  # fmt: skip
    fencing = FencingBook(sides, out, holdings, peer, shutdown, fence_delay, fence_retry)
    legacy = Legacy(sides, out, holdings, jobs, fencing, acquisition)
    convergence = Convergence(
        sides, holdings, peer, negotiation, stability=stability, shutdown=shutdown
    )
    startup = Startup(
        sides, out, holdings, peer, negotiation, acquisition, jobs,
        legacy=legacy, fencing=fencing, standby=standby, failback=failback,
        stability=stability, shutdown=shutdown, convergence=convergence,
    )  # fmt: skip
    takeover = Takeover(
        sides, out, holdings, peer, negotiation, jobs,
        standby=standby, failback=failback, fencing=fencing, startup=startup,
        stability=stability, shutdown=shutdown,
    )  # fmt: skip
    selffence = SelfFence(
        sides, out, holdings, peer, negotiation, jobs,
        pushes=pushes, shutdown=shutdown, fencing=fencing, startup=startup, takeover=takeover,
    )  # fmt: skip
    admin = Admin(sides, out, holdings, peer, negotiation, jobs, standby=standby, shutdown=shutdown)
    recovery = MonitorRecovery(
        sides, out, holdings, peer, jobs, book,
        fencing=fencing, standby=standby, admin=admin, shutdown=shutdown,
    )  # fmt: skip
    checks = MonitorChecks(
        sides, out, holdings, peer, negotiation, jobs, book,
        recovery=recovery, fencing=fencing, standby=standby, shutdown=shutdown,
    )  # fmt: skip
    ipfail = IpfailLink(config, sides, out, holdings, admin)
    router = MessageRouter(
        sides, peer,
        startup=startup, standby=standby, legacy=legacy, admin=admin, takeover=takeover,
        ipfail=ipfail,
    )  # fmt: skip
    status = StatusView(
        sides, holdings, peer, negotiation,
        standby=standby, stability=stability, fencing=fencing, shutdown=shutdown,
        book=book, ipfail=ipfail, oneway=oneway,
    )  # fmt: skip
    return Owners(
        sides, out, holdings, peer, negotiation, pushes, jobs, shutdown, standby, stability,
        failback, oneway, fencing, convergence, startup, takeover, selffence, admin, recovery,
        checks, ipfail, router, status,
    )  # fmt: skip
