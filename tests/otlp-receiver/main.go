// otlp-receiver: a minimal OTLP/HTTP metrics receiver for memgate's tests,
// built on the official OTLP protobuf definitions
// (go.opentelemetry.io/proto/otlp). It listens on a loopback port, prints
// "listening on ADDR", answers POST /v1/metrics by decoding the request as
// an ExportMetricsServiceRequest (a body that does not decode is answered
// 400), writes what it received as protojson to the file named by its
// argument, and exits after answering the first request it decoded.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: otlp-receiver OUT.json")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	done := make(chan struct{})
	http.HandleFunc("/v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "expected a POST of application/x-protobuf", http.StatusBadRequest)
			return
		}
		var req colmetrics.ExportMetricsServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, _ := protojson.Marshal(&req)
		if err := os.WriteFile(os.Args[1], out, 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, _ := proto.Marshal(&colmetrics.ExportMetricsServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(resp)
		close(done)
	})
	srv := &http.Server{}
	go srv.Serve(ln)
	<-done
	// Shutdown returns once the answer is written: exiting at once could
	// reset the connection before memgate reads it.
	srv.Shutdown(context.Background())
}
