"""JobRegistrySlice._display, __str__: RegistrySlice's text, each row read once, within _around_display."""

import contextlib
from collections import Counter
from unittest import mock

from GangaCore.testlib.GangaUnitTest import GangaUnitTest

SUBJOBS = 4


@contextlib.contextmanager
def _hooks(around=(), counts=()):
    """JobRegistrySlice's hooks as given for a while (none: as without a monitoring component)."""
    from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice

    kept = list(JobRegistrySlice._around_display), list(JobRegistrySlice._subjob_counts)
    JobRegistrySlice._around_display[:] = list(around)
    JobRegistrySlice._subjob_counts[:] = list(counts)
    try:
        yield
    finally:
        JobRegistrySlice._around_display[:], JobRegistrySlice._subjob_counts[:] = kept


class TestJobTables(GangaUnitTest):

    def _jobs(self):
        """A split job whose subjobs have final statuses (two completed, the others failed), and a plain job."""
        from GangaCore.GPI import ArgSplitter, Job, TestSubmitter

        split = Job(name='split', comment='a comment', backend=TestSubmitter(time=100),
                    splitter=ArgSplitter(args=[[str(n)] for n in range(SUBJOBS)]))
        split.submit()
        for number, subjob in enumerate(split.subjobs):
            subjob.force_status('failed', force=True)
            if number < 2:
                subjob.force_status('completed', force=True)
        plain = Job(name='plain', comment='plain comment')
        return split, plain

    def _texts(self, split):
        from GangaCore.GPI import jobs

        return {'jobs': jobs._display(True), 'jobs plain': str(jobs), 'subjobs': split.subjobs._display(True),
                'slice': jobs.select(name='split')._display(False), 'print(j)': str(split)}

    def _gangas_texts(self, split):
        from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
        from GangaCore.GPIDev.Lib.Registry.RegistrySlice import RegistrySlice

        with mock.patch.object(JobRegistrySlice, '_display', RegistrySlice._display), \
                mock.patch.object(JobRegistrySlice, '__str__', RegistrySlice.__str__):
            return self._texts(split)

    def test_the_tables_are_registry_slice_s_text_made_within_around_display(self):
        split, _plain = self._jobs()
        entered = []

        @contextlib.contextmanager
        def around():
            entered.append('in')
            yield
            entered.append('out')

        with _hooks(around=[around]):
            ours = self._texts(split)
        gangas = self._gangas_texts(split)
        assert ours == gangas
        assert entered and entered.count('in') == entered.count('out') >= len(ours)
        assert f'Registry Slice: jobs({split.id}).subjobs ({SUBJOBS} objects)' in ours['subjobs']
        assert 'plain comment' in ours['jobs plain']

    def test_without_counts_the_column_function_answers_with_them_the_counts(self):
        from GangaCore.GPI import jobs
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        split, _plain = self._jobs()

        master = stripProxy(split)
        asked = []

        def counts_of(job):
            asked.append(job)
            return Counter(running=1, completed=3) if job is master else None

        from GangaCore.GPIDev.Lib.Registry.RegistrySlice import RegistrySlice

        with _hooks():  # no monitoring component: Ganga's column function reads the subjobs
            alone = jobs._display(False)
        assert '0/2/0/2' in alone  # running/failed/completing/completed
        assert alone == RegistrySlice._display(stripProxy(jobs), False)
        with _hooks(counts=[lambda job: None, counts_of]):
            counted = jobs._display(False)
        assert master in asked
        assert '1/0/0/3' in counted and '0/2/0/2' not in counted

    def test_a_table_that_cannot_be_rendered_is_registry_slice_s_own(self):
        import importlib
        # the module (the package's JobRegistry is the class)
        job_registry = importlib.import_module('GangaCore.GPIDev.Lib.Registry.JobRegistry')

        split, _plain = self._jobs()
        gangas = self._gangas_texts(split)

        def broken(*args):
            raise RuntimeError('a bug of the renderer')

        with _hooks(), mock.patch.object(job_registry, 'render_job_table', broken), \
                mock.patch.object(job_registry.JobRegistrySlice, '_render_failed', False), \
                mock.patch.object(job_registry.logger, 'exception') as logged:
            assert self._texts(split) == gangas
        assert logged.call_count == 1  # said once

    def test_a_row_is_read_once_no_index_entry_computed_per_cell(self):
        from GangaCore.GPI import jobs
        from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistry

        split, _plain = self._jobs()
        computing = JobRegistry.getIndexCache
        computed = []

        def counted(registry, obj):
            computed.append(obj)
            return computing(registry, obj)

        with mock.patch.object(JobRegistry, 'getIndexCache', counted):
            ours = jobs._display(False)
            assert computed == []
            gangas = self._gangas_texts(split)['jobs plain']
        assert computed  # RegistrySlice's table computes a loaded job's entry for its cells
        assert ours == gangas
