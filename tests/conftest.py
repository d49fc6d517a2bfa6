import shutil

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.live_server import DaphneServer


@pytest.fixture
def course(db):
    """The real course, loaded from the repository's content files."""
    call_command("load_course", verbosity=0)


@pytest.fixture
def content_dir(tmp_path):
    """A private copy of the content files that a test may edit."""
    target = tmp_path / "content"
    shutil.copytree(settings.COURSE_CONTENT_DIR, target)
    return target


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        "editor", password="a-long-staff-password", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def student_client(client, django_user_model):
    student = django_user_model.objects.create_user("student", password="a-student-password")
    client.force_login(student)
    return client


@pytest.fixture(scope="session")
def daphne_server(tmp_path_factory):
    """The real site under Daphne with debug off, its own database and static files."""
    with DaphneServer(tmp_path_factory.mktemp("daphne")) as server:
        yield server
