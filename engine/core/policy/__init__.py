"""Sans-I/O resource ownership and failover policy (Heartbeat v1 ``hb_resource``).

Rules of this package:

* No I/O and no clock: every input carries ``now`` (monotonic seconds).
* Cluster messages go out through ``drain_outbound`` without control fields; the
  membership layer stamps them and loops them back into ``on_message`` exactly like
  Heartbeat processes its own messages (spec §7.4).
* Heartbeat's rc.d/mach_down/req_resource/hb_standby scripts are implemented here as
  internal *jobs*. Jobs run strictly one after another (Heartbeat's serialisation rule,
  spec §7.4) and each emits at most one Acquire/Release at a time.
* Wire messages have Heartbeat's field names, order and values (fixtures in
  ``spec/wire-fixtures``). Log lines use Heartbeat's wording; plain lines go to
  ``logger``, decisions become ``PolicyEvent``s that also carry their log line.

Deliberate differences from Heartbeat 3.0.6 (all on the safe side):

* A failed Release is never reported as released: the class stays in ``i_hold``, no
  ``done``/``shutdone``/``ok=OK`` is sent for it, the peer does not start the group.
* After a healed partition the node that is *not* a group's home releases it (Heartbeat
  restarts both daemons instead). A stable node answers a peer report that claims its
  running groups with its own hold report (at most once a second), so that a one-way
  partition, which only the peer saw, resolves too.
* Only groups that are not stopped are released (Heartbeat runs stop for all keys).
* Our own hold reports do not set ``i_hold`` when they loop back (Heartbeat copies
  them): ``i_hold`` is what we claim now, and a report sent before a later claim would
  undo it for a moment (a false "No one owns our local resources!" on every cold
  start, spurious resolutions).
* A peer's ``shutdone`` does not start Heartbeat's redundant standby-acquire child.
  One that arrives before our comm-up is taken over at comm-up (as a death before
  comm-up): the takeover finishes through our own loopback messages, which are only
  taken from comm-up on.
* One-way loss: a node whose peer claims groups running here while the peer's
  heartbeats no longer list us (``hears``) releases them, and rejoins with ``starting``
  once it is heard again (``oneway``; the rule is ``engine/core/oneway.py``).

Layout: small objects, each the only writer of its own state and each taking ``now``
(docs/architecture.md, "policy", has the table of owners and routes).
``ResourcePolicy`` (``resource_policy``) is a thin planner: ``wiring`` builds the
owners in dependency order, and each input is routed to the owner of its concern —
``holdings`` (who holds what), ``jobs`` (the serialised job queue), ``standby`` (the
three-phase protocol), ``fencing`` (the fencing book), ``monitors``/``recovery``
(resource monitoring), ``shutdown``, ``startup`` (comm-up, reports, RSCRCVD),
``takeover`` (death, mach_down, shutdone, partitions), ``failback``, ``legacy``
(ip-request), ``admin`` (hb_standby/hb_takeover), ``ipfail``, ``oneway`` (the
one-way loss guard); ``sides`` names this node and the other side, ``outbox``
collects what the policy says.
"""

from __future__ import annotations

from engine.core.policy.constants import (
    FAILBACK_RETRY,
    FAILED_START_PUSH_DELAY,
    RESOURCE_MANAGER,
    STANDBY_INIT_TIMEOUT,
    STANDBY_RSC_TIMEOUT,
    STONITH_RETRY,
    STONITH_RETRY_MAX,
)
from engine.core.policy.resource_policy import ResourcePolicy

__all__ = [
    "FAILBACK_RETRY",
    "FAILED_START_PUSH_DELAY",
    "RESOURCE_MANAGER",
    "STANDBY_INIT_TIMEOUT",
    "STANDBY_RSC_TIMEOUT",
    "STONITH_RETRY",
    "STONITH_RETRY_MAX",
    "ResourcePolicy",
]
