"""The scheduled monitoring component in a Ganga session: built by default, the stock one behind the switch.

Adapted from GangaMonitoring's in-process tests (tests/ganga/test_lifecycle.py, test_local.py,
test_queues.py) to Ganga's own test harness.
"""

from GangaCore.testlib.GangaUnitTest import GangaUnitTest
from GangaCore.testlib.monitoring import run_until_completed


class TestMonitoringComponent(GangaUnitTest):

    def setUp(self):
        super().setUp(extra_opts=[('PollThread', 'autostart', 'True')])

    def test_a_built_by_default(self):
        from GangaCore import Core
        from GangaCore.Core.MonitoringComponent.integration.component import MonitoringComponent
        from GangaCore.GPI import runMonitoring

        self.assertIsInstance(Core.monitoring_component, MonitoringComponent)
        self.assertEqual(runMonitoring.__name__, 'runMonitoring')

    def test_b_local_job_monitored_to_completed(self):
        from GangaCore import Core
        from GangaCore.GPI import Job, Local

        Core.monitoring_component.enable()
        j = Job(backend=Local())
        j.submit()
        self.assertTrue(run_until_completed(j, timeout=120), f"the job ended {j.status}")

    def test_c_queues_show_monitoring(self):
        from GangaCore.GPI import queues

        snapshot = queues.snapshot()
        self.assertIsInstance(snapshot, dict)
        self.assertIn('monitoring', str(queues).lower())


class TestStockMonitoringSwitch(GangaUnitTest):

    def setUp(self):
        super().setUp(extra_opts=[('Monitoring', 'use_stock_monitoring', True)])

    def test_stock_component_behind_the_switch(self):
        from GangaCore import Core
        from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService
        from GangaCore.Core.GangaThread.WorkerThreads import getQueues
        from GangaCore.Core.GangaThread.WorkerThreads.ThreadPoolQueueMonitor import ThreadPoolQueueMonitor

        self.assertIs(type(Core.monitoring_component), AsyncMonitoringService)
        self.assertIsInstance(getQueues(), ThreadPoolQueueMonitor)
