"""JobRegistrySlice.__init__: a slice's display settings copied from a template per value of the [Display] options."""

from unittest import mock

from GangaCore.testlib.GangaUnitTest import GangaUnitTest


def _settings(a_slice):
    """A slice's display settings: its attributes less its own objects and name, functions by name."""
    return {name: (sorted(value) if name == '_display_columns_functions' else value)
            for name, value in vars(a_slice).items() if name not in ('objects', 'name', 'fx')}


class TestSliceTemplates(GangaUnitTest):

    def test_slices_share_one_template_and_nothing_that_changes(self):
        from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
        from GangaCore.GPIDev.Lib.Registry.RegistrySlice import RegistrySlice

        JobRegistrySlice('first')  # the template of the options' current values, if there was none
        constructed = []
        reading = RegistrySlice.__init__

        def counted(self, *args, **kwargs):
            constructed.append(args)
            return reading(self, *args, **kwargs)

        with mock.patch.object(RegistrySlice, '__init__', counted):
            slices = [JobRegistrySlice(f'slice {n}') for n in range(5)]
        assert constructed == []  # no [Display] option read, nothing eval'ed: each copied
        one, two = slices[0], slices[1]
        assert (one.name, two.name) == ('slice 0', 'slice 1')
        assert one.objects is not two.objects and len(two.objects) == 0
        assert one.status_colours == two.status_colours and one.status_colours is not two.status_colours
        assert one._display_columns_width is not two._display_columns_width
        one.objects[1] = 'x'
        one.status_colours['not a status'] = 'x'
        assert len(JobRegistrySlice('three').objects) == 0
        assert 'not a status' not in JobRegistrySlice('four').status_colours

    def test_a_slice_has_the_settings_its_construction_gives(self):
        from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice

        copied = JobRegistrySlice('jobs')
        constructed = JobRegistrySlice.__new__(JobRegistrySlice)
        JobRegistrySlice._construct(constructed, 'jobs')
        assert _settings(copied) == _settings(constructed)
        assert set(vars(copied)) == set(vars(constructed))

    def test_a_slice_follows_a_display_option_changed(self):
        from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
        from GangaCore.Utility.Config import getConfig

        display = getConfig('Display')
        columns, colours = display['jobs_columns'], display['jobs_status_colours']
        before = JobRegistrySlice('before')
        try:
            display.setUserValue('jobs_columns', ('fqid', 'status', 'name'))
            display.setUserValue('jobs_status_colours', {'new': 'fx.bold'})
            changed = JobRegistrySlice('changed')
            assert list(changed._display_columns) == ['fqid', 'status', 'name']
            assert changed.status_colours == {'new': changed.fx.bold}
            assert list(JobRegistrySlice('again')._display_columns) == ['fqid', 'status', 'name']
        finally:
            display.setUserValue('jobs_columns', columns)
            display.setUserValue('jobs_status_colours', colours)
        after = JobRegistrySlice('after')
        assert _settings(after) == _settings(before)
