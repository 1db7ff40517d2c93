from django.contrib import admin

# The Django admin is for superusers only: console users and roles are managed on the Users page, and an
# Admin-role user with the staff flag must not reach models (or secrets) the console keeps from them.
admin.site.has_permission = lambda request: request.user.is_active and request.user.is_superuser
