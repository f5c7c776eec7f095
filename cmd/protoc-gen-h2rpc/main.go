package main

import (
	"context"
	"fmt"
	"os"

	"github.com/h2rpc/h2rpc/codegen"
)

func main() {
	if len(os.Args) >= 2 {
		switch os.Args[1] {
		case "--version", "-version":
			fmt.Println("protoc-gen-h2rpc v" + codegen.Version)
			return
		case "--help", "-h", "-help", "help":
			fmt.Print("protoc plugin: protoc --go_out=. --h2rpc_out=. FILE.proto\n\n" + codegen.GenerateUsage)
			return
		case "generate":
			if err := codegen.GenerateCommand(context.Background(), os.Args[2:], os.Stderr); err != nil {
				fmt.Fprintln(os.Stderr, "protoc-gen-h2rpc:", err)
				os.Exit(1)
			}
			return
		}
	}
	codegen.PluginOptions().Run(codegen.Run)
}
