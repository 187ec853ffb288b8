"""The console on a Corosync + Pacemaker node (``hatui --pacemaker``).

Rules of this package: Pacemaker's and Corosync's machine interfaces only, never
screen-scraped text: ``crm_mon --output-as=xml`` (polled one-shot), ``cibadmin --query``
(constraints) and ``corosync-cmapctl`` key/value lines (knet link statistics, the
nodelist, runtime totem values: knet has no XML). Every program runs through
:mod:`hatui.backends.pacemaker.tools` (itself on ``engine.process.runner``).

Modules: ``cmap`` and ``crmmon`` read the tools' output (pure), ``document`` builds the
engine-shaped status document from them (pure), ``timeline`` derives deaths, moves,
fences and failures from two successive documents and from the logs (pure), ``logs``
turns Pacemaker and Corosync log lines into log records, ``actions`` checks operator
verbs and names the commands that carry them out (pure), ``client`` polls and streams
like an engine connection, ``app`` is the console with Pacemaker's keys.
"""
