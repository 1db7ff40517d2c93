# The constraints 0004 made the data ready for.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('groups', '0004_merge_duplicate_groups'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='group',
            constraint=models.UniqueConstraint(condition=models.Q(('kaizala_id', ''), _negated=True), fields=('kaizala_id',), name='uniq_group_kaizala_id'),
        ),
        migrations.AddConstraint(
            model_name='group',
            constraint=models.CheckConstraint(condition=models.Q(('state__in', ['creating', 'active', 'failed'])), name='group_state_valid'),
        ),
        migrations.AddConstraint(
            model_name='group',
            constraint=models.CheckConstraint(condition=models.Q(('group_type__in', ['Group', 'ConnectGroup'])), name='group_type_valid'),
        ),
        migrations.AddConstraint(
            model_name='groupmember',
            constraint=models.CheckConstraint(condition=models.Q(('state__in', ['pending', 'added', 'failed', 'removing', 'changing_role'])), name='group_member_state_valid'),
        ),
        migrations.AddConstraint(
            model_name='groupmember',
            constraint=models.CheckConstraint(condition=models.Q(('role__in', ['Admin', 'Member'])), name='group_member_role_valid'),
        ),
        migrations.AddConstraint(
            model_name='groupsubscriber',
            constraint=models.CheckConstraint(condition=models.Q(('state__in', ['pending', 'added', 'failed', 'removing'])), name='group_subscriber_state_valid'),
        ),
        migrations.AddConstraint(
            model_name='groupsync',
            constraint=models.UniqueConstraint(condition=models.Q(('state', 'running')), fields=('phone_user',), name='one_running_sync_per_phone_user'),
        ),
        migrations.AddConstraint(
            model_name='groupsync',
            constraint=models.CheckConstraint(condition=models.Q(('state__in', ['running', 'done', 'failed'])), name='group_sync_state_valid'),
        ),
    ]
