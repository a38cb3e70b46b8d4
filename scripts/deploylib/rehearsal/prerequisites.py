"""What a real account has before the first deploy because a person made it, made to exist in the emulator."""
from __future__ import annotations

import re

from scripts.deploylib.aws import Aws
from scripts.deploylib.target import Target

ACM_ARN = re.compile(r"^arn:aws[-a-z]*:acm:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):certificate/[0-9a-f-]+$")


def provide_prerequisites(aws: Aws, target: Target) -> list[str]:
    """What a real account has before the first deploy because a person made it (docs/deploy.md, manual steps),
    made to exist in the emulator: today, the ACM certificates the parameter files name (certificate_arn)."""
    from moto.acm.models import acm_backends

    provided = []
    for key, value in target.parameters:
        match = ACM_ARN.match(value)
        if not match:
            continue
        # requested in the certificate's own region: CloudFront's (frontend.certificate_arn) is in us-east-1 while
        # the environment, and so aws.client, may be elsewhere
        acm = aws.session.client("acm", region_name=match["region"], endpoint_url=aws.endpoint_url)
        generated = acm.request_certificate(DomainName="rehearsal.example.com")["CertificateArn"]
        backend = acm_backends[match["account"]][match["region"]]
        bundle = backend._certificates.pop(generated)   # the same certificate, under the ARN the files name
        bundle.arn = value
        backend._certificates[value] = bundle
        provided.append(f"ACM certificate {value} (parameter {key}; request and DNS-validate it in the real "
                        "account)")
    return provided
