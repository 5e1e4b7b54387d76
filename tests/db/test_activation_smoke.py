from db.activation import ActivationService
from tests import factories


def test_activation_queues_one_account_on_every_backend(engine):
    factories.setup(engine)
    result = ActivationService(engine).activate("jdoe", "Home 10M", "REF1")
    assert result.job_id == 1 and not result.renewed
