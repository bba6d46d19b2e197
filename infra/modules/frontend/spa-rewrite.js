// CloudFront Function (viewer request): client-side routes of the single-page
// app get /index.html; files (a dot in the last path segment) pass through.
// Done here rather than with custom 403/404 error responses, which would turn
// every missing asset into a 200 HTML page.
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  var last = uri.substring(uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
