// Command bareproxy is the load harness's baseline: a fasthttp pass-through
// proxy that forwards bytes without parsing them.
//
//	bareproxy -listen 127.0.0.1:9001 -upstream 127.0.0.1:9000
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/bench/loadtest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9001", "listen address")
	upstream := flag.String("upstream", "127.0.0.1:9000", "upstream host:port")
	flag.Parse()
	p := loadtest.NewBareProxy(*upstream)
	srv := &fasthttp.Server{Handler: p.Handle, Name: "bareproxy", NoDefaultServerHeader: true, NoDefaultContentType: true}
	log.Fatal(srv.ListenAndServe(*listen))
}
