from accounts.roles import Role, has_role, user_role


def roles(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "console_role": user_role(user),
        "is_console_admin": has_role(user, Role.ADMIN),
        "is_console_operator": has_role(user, Role.OPERATOR),
    }
