"""Job's hooks: Job.status tells Job._status_set; submit, resubmit, force_status and peek run within the
contexts of their lists; updateMasterJobStatus asks Job._master_update_waits."""

import contextlib
from unittest import mock

from GangaCore.testlib.GangaUnitTest import GangaUnitTest


def _recording(calls, name):
    """A context factory that records (name, 'in'/'out', the job, the call's arguments)."""
    @contextlib.contextmanager
    def around(job, *args, **kwargs):
        calls.append((name, 'in', job, args, kwargs))
        yield
        calls.append((name, 'out', job, args, kwargs))

    return around


class TestJobHooks(GangaUnitTest):

    def test_a_status_set_tells_the_status_hooks_after_the_job_s_lock_is_let_go(self):
        from GangaCore.GPI import Job
        from GangaCore.GPIDev.Base.Proxy import stripProxy
        from GangaCore.GPIDev.Lib.Job.Job import Job as RawJob

        job = stripProxy(Job())
        told = []

        def tell(changed):
            told.append((changed, changed._data.get('status'), changed._getRoot()._lock._is_owned()))

        with mock.patch.object(RawJob, '_status_set', [tell]):
            job.updateStatus('submitting')
            job.status = 'submitted'
        assert told == [(job, 'submitting', False), (job, 'submitted', False)]

    def test_submit_resubmit_force_status_and_peek_run_within_their_hooks(self):
        from GangaCore.GPI import Job, TestSubmitter
        from GangaCore.GPIDev.Base.Proxy import stripProxy
        from GangaCore.GPIDev.Lib.Job.Job import Job as RawJob

        job = Job(backend=TestSubmitter(time=100))
        raw = stripProxy(job)
        calls = []
        with mock.patch.object(RawJob, '_around_submission', [_recording(calls, 'submission')]), \
                mock.patch.object(RawJob, '_around_force_status', [_recording(calls, 'force')]), \
                mock.patch.object(RawJob, '_around_user_action', [_recording(calls, 'peek')]):
            job.submit()
            job.peek()
            job.force_status('failed', force=True)
            job.resubmit()
        edges = [(name, edge) for name, edge, _job, _args, _kwargs in calls]
        # peek() enters its hook again through the backend's peek: once in, once out each
        collapsed = [edge for n, edge in enumerate(edges) if n == 0 or edge != edges[n - 1]]
        assert collapsed == [
            ('submission', 'in'), ('submission', 'out'), ('peek', 'in'), ('peek', 'out'),
            ('force', 'in'), ('force', 'out'), ('submission', 'in'), ('submission', 'out')]
        assert all(called is raw for _name, _edge, called, _args, _kwargs in calls)
        forced = [call for call in calls if call[0] == 'force']
        assert forced[0][3:] == (('failed',), {'force': True})  # the call's own arguments

    def test_a_roll_up_a_hook_waits_for_leaves_the_master_as_it_is(self):
        from GangaCore.GPI import ArgSplitter, Job, TestSubmitter
        from GangaCore.GPIDev.Base.Proxy import stripProxy
        from GangaCore.GPIDev.Lib.Job.Job import Job as RawJob

        split = Job(backend=TestSubmitter(time=100), splitter=ArgSplitter(args=[['a'], ['b']]))
        split.submit()
        master = stripProxy(split)
        asked = []

        def waits(job):
            asked.append(job)
            return True

        with mock.patch.object(RawJob, '_master_update_waits', [waits]):
            for subjob in split.subjobs:
                subjob.force_status('failed', force=True)
            assert master in asked and split.status != 'failed'
        master.updateMasterJobStatus()  # no hook: Ganga's roll-up
        assert split.status == 'failed'
