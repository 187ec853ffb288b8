"""A real Corosync 3 + Pacemaker 2.1 cluster of lab nodes (running-pacemaker.md).

Each node is a network namespace (``lab.netns``) plus its own mount/UTS/IPC namespaces
(``lab.hostns``), so that Corosync's and Pacemaker's fixed paths, libqb's abstract
sockets and its ``/dev/shm`` ring buffers are per node. Host-side layout per node
(``<lab workdir>/<node>/pcmk/``)::

    ns/                 private bind mount holding the mnt, uts and ipc namespace files
    etc-corosync/       corosync.conf and authkey            -> /etc/corosync
    etc-init.d/         copy of /etc/init.d + the lab's LSB services -> /etc/init.d
    var-lib-corosync/   -> /var/lib/corosync
    var-lib-pacemaker/  cib (seeded), pengine, blackbox, cores -> /var/lib/pacemaker
    var-log/            cluster/corosync.log, pacemaker/pacemaker.log, crmsh/ -> /var/log
    srv/                -> /srv (mount points of Filesystem resources stay per node)

Inside, ``/run`` and ``/dev/shm`` are fresh tmpfs and ``/sys`` a sysfs of the node's
network namespace. Two heartbeat networks become two knet links.

Start-up speed, stated: every node's CIB is seeded with ``dc-deadtime=2s`` (Pacemaker's
default is 20 s, the wait for an existing DC before an election on a cold start) and
``stonith-enabled=false`` (no fence device in the lab). Readiness is read from the
daemons (``corosync-quorumtool``, ``crm_mon --output-as=xml``), never slept for.

Run a cluster by hand: ``python -m lab.pacemaker up`` (prints where it lives),
``python -m lab.pacemaker exec alpha -- crm_mon -1``, ``python -m lab.pacemaker down``.
Tests and benchmarks use :class:`PacemakerCluster` as a context manager.
"""

from lab.pacemaker.cluster import (
    NODE_NAMES,
    PacemakerCluster,
    ResourceState,
    remove_leftovers,
    remove_recorded,
)
from lab.pacemaker.node import (
    DC_DEADTIME,
    LSB_SERVICES,
    PacemakerNode,
    Totem,
    corosync_conf,
    pacemaker_unavailable_reason,
)

__all__ = [
    "DC_DEADTIME",
    "LSB_SERVICES",
    "NODE_NAMES",
    "PacemakerCluster",
    "PacemakerNode",
    "ResourceState",
    "Totem",
    "corosync_conf",
    "pacemaker_unavailable_reason",
    "remove_leftovers",
    "remove_recorded",
]
