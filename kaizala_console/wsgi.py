import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaizala_console.settings")
application = get_wsgi_application()
# What loading Django and the apps made lives as long as the process: left out of the collector's full
# passes, which otherwise walk it all every few hundred page views and stall every thread of the worker.
gc.freeze()
