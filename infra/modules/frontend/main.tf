# The web app's static bundle: a private S3 bucket read only by this CloudFront
# distribution (Origin Access Control), SPA routing in a CloudFront Function,
# cache policies that honour the Cache-Control set per object by
# scripts/deploy-web.sh, a response-headers policy (CSP allowing WebAssembly,
# HSTS, …), a WAF and access logs.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  csp = join("; ", [
    "default-src 'self'",
    join(" ", concat(["script-src 'self' 'wasm-unsafe-eval'"], var.csp_script_hashes)),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self' ${var.api_origin}",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "upgrade-insecure-requests",
  ])
}

# ---- encryption ------------------------------------------------------------------

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:Key policy: resource "*" is this key only, and the account-root statement is the standard delegation to IAM.
  #checkov:skip=CKV_AWS_111:Key policy: resource "*" is this key only; CloudFront is limited to this distribution by SourceArn.
  #checkov:skip=CKV_AWS_356:Key policy: resource "*" is this key only (key policies cannot name their own ARN).
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudFrontReadsTheBundle"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudfront::${local.account_id}:distribution/*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name} web bundle"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

# ---- logs bucket (CloudFront standard logs and S3 server access logs) ----------

module "logs" {
  #checkov:skip=CKV2_AWS_65:CloudFront standard logging delivers through the bucket ACL (awslogsdelivery); this log-only bucket keeps ACLs, the bundle bucket has them disabled.
  source = "../log-bucket"

  bucket_prefix  = "${var.name}-web-logs-"
  retention_days = var.log_retention_days
  # CloudFront standard logging still writes through bucket ACLs.
  log_delivery_acl = true
  delivery = {
    sid         = "S3ServerAccessLogs"
    service     = "logging.s3.amazonaws.com"
    key_pattern = "s3/*"
    conditions = [{
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }]
  }
  tags = var.tags
}

# ---- the bundle bucket -------------------------------------------------------------

resource "aws_s3_bucket" "web" {
  #checkov:skip=CKV_AWS_144:The bundle is rebuilt from git by the pipeline in minutes; replication adds cost, not recovery.
  #checkov:skip=CKV2_AWS_62:Deploys are driven by the pipeline; nothing reacts to object events.
  bucket_prefix = "${var.name}-web-"
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "web" {
  bucket = aws_s3_bucket.web.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "web" {
  bucket                  = aws_s3_bucket.web.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "web" {
  bucket = aws_s3_bucket.web.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "web" {
  bucket = aws_s3_bucket.web.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "web" {
  bucket        = aws_s3_bucket.web.id
  target_bucket = module.logs.id
  target_prefix = "s3/${var.name}-web/"
}

resource "aws_s3_bucket_lifecycle_configuration" "web" {
  bucket = aws_s3_bucket.web.id
  rule {
    # Old releases stay as noncurrent versions long enough for a web rollback.
    id     = "noncurrent"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "web" {
  statement {
    sid       = "CloudFrontReads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.web.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudfront_distribution.this.arn]
    }
  }
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.web.arn, "${aws_s3_bucket.web.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "web" {
  bucket = aws_s3_bucket.web.id
  policy = data.aws_iam_policy_document.web.json
}

# ---- CloudFront -----------------------------------------------------------------------

resource "aws_cloudfront_origin_access_control" "this" {
  name                              = "${var.name}-web"
  description                       = "CloudFront signs its requests to the ${var.name} web bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_function" "spa" {
  name    = "${var.name}-spa-rewrite"
  runtime = "cloudfront-js-2.0"
  comment = "Client-side routes -> /index.html"
  publish = true
  code    = file("${path.module}/spa-rewrite.js")
}

# Honour each object's Cache-Control (immutable hashed assets, no-cache entry
# points); compressed variants cached separately.
#
# The .wasm is stored brotli-compressed with Content-Encoding: br
# (scripts/deploy-web.sh). Nothing here changes that header: the
# Accept-Encoding settings below only normalise the request header into the
# cache key (a br object is then cached once per normalised value, the same
# bytes each time), no other header is forwarded, and CloudFront compresses
# (compress = true) only responses without a Content-Encoding, never
# application/wasm. The response-headers policy adds security headers only.
# No Vary: Accept-Encoding is needed for an object stored in one encoding.
resource "aws_cloudfront_cache_policy" "this" {
  name        = "${var.name}-web"
  comment     = "Origin Cache-Control decides; gzip and brotli"
  min_ttl     = 0
  default_ttl = 300
  max_ttl     = 31536000

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

resource "aws_cloudfront_response_headers_policy" "this" {
  name    = "${var.name}-web-security"
  comment = "CSP (WebAssembly, API origin), HSTS and friends"

  security_headers_config {
    content_security_policy {
      content_security_policy = local.csp
      override                = true
    }
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
  }

  custom_headers_config {
    items {
      header   = "Permissions-Policy"
      value    = "camera=(), microphone=(), geolocation=(), payment=()"
      override = true
    }
    items {
      header   = "Cross-Origin-Opener-Policy"
      value    = "same-origin"
      override = true
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_310:One origin: the bucket is regional-durable and the bundle is redeployable from git; a failover origin would need a replicated bucket kept in sync by every deploy.
  #checkov:skip=CKV_AWS_374:The product is sold worldwide; no geo restriction.
  enabled             = true
  comment             = "${var.name} web app"
  aliases             = [var.domain_name]
  default_root_object = "index.html"
  http_version        = "http2and3"
  is_ipv6_enabled     = true
  price_class         = var.price_class
  web_acl_id          = module.waf.web_acl_arn

  origin {
    origin_id                = "web-bucket"
    domain_name              = aws_s3_bucket.web.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.this.id
  }

  default_cache_behavior {
    target_origin_id           = "web-bucket"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.this.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id

    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.spa.arn
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = var.certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }

  logging_config {
    bucket          = module.logs.bucket_domain_name
    prefix          = "cloudfront/"
    include_cookies = false
  }

  tags       = var.tags
  depends_on = [module.logs] # its log-delivery ACL first
}

# ---- WAF (CLOUDFRONT scope lives in us-east-1) ------------------------------------------

module "waf" {
  source = "../waf"
  providers = {
    aws = aws.us_east_1
  }

  name                = "${var.name}-web"
  description         = "Web app distribution: AWS managed rules and a per-IP rate limit"
  scope               = "CLOUDFRONT"
  rate_limit_per_5min = var.waf_rate_limit_per_5min
  log_kms_key_arn     = module.waf_logs_key.arn
  log_retention_days  = var.log_retention_days
  tags                = var.tags
}

module "waf_logs_key" {
  source = "../kms-key"
  providers = {
    aws = aws.us_east_1
  }

  description = "${var.name} web WAF logs"
  tags        = var.tags
}
