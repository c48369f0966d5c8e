// Xinfang's GraphiQL: everything is served by the server itself, so the page works on an
// intranet with no way out. Queries go to /graphql, subscriptions to /graphql/ws; the
// Authorization header typed in the header editor is used for both (on the socket it is sent
// in connection_init, as the server expects).
(function () {
  "use strict";
  var http = window.location.origin + "/graphql";
  var ws = http.replace(/^http/, "ws") + "/ws";
  var fetchers = {};

  function authorization(headers) {
    if (!headers) return "";
    for (var name in headers) {
      if (name.toLowerCase() === "authorization") return String(headers[name]);
    }
    return "";
  }

  // One fetcher per credential, so a new token typed in opens a new socket.
  function fetcher(params, options) {
    var headers = (options && options.headers) || {};
    var auth = authorization(headers);
    if (!fetchers[auth]) {
      fetchers[auth] = GraphiQL.createFetcher({
        url: http,
        subscriptionUrl: ws,
        wsConnectionParams: auth ? { authorization: auth } : {},
      });
    }
    return fetchers[auth](params, options);
  }

  var query =
    "# Sign in, then put the access token in the Authorization header below.\n" +
    "#\n" +
    "# mutation { login(input: {username: \"bureau_staff\", password: \"…\"}) { accessToken } }\n" +
    "\n" +
    "{ viewer { displayName role orgUnit { name } } }\n";

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: query,
      defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
    })
  );
})();
