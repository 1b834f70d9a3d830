"""What users see: ``queues``, the prompt's notice, job tables, the live display and the status file.

They show the component's ``statistics()`` (``views/snapshot.py``'s frozen
data, laid out as text by ``views/layout.py``) and Ganga's jobs, mostly from
the prompt's thread; ``queues`` reaches the running component through
``integration/current.py``.
"""
